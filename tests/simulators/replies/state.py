"""What the reply simulator knows (tokens, windows, files), records and has been told to fail."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.simulators.replies.faults import Fault


@dataclass(frozen=True)
class Call:
    """One request the simulator received and what it answered."""

    provider: str  # graph, x, telegram
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, form fields, or None
    status: int
    response: Any  # parsed JSON answer, or None


@dataclass
class Injected:
    fault: Fault
    times: int
    path_contains: str | None


@dataclass
class ReplySimulator:
    """Shared state of the reply APIs; configure it, run the app, then read `calls`."""

    # Graph: tokens per node (page id, IG account id, phone number id).
    page_tokens: dict[str, str] = field(default_factory=dict)
    instagram_tokens: dict[str, str] = field(default_factory=dict)
    whatsapp_tokens: dict[str, str] = field(default_factory=dict)
    # When the customer last wrote, per (account id, customer id): enforces the 24 h window.
    last_customer_message: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # When each comment was made: private replies are allowed once, within 7 days.
    comment_times: dict[str, datetime] = field(default_factory=dict)
    private_replied: set[str] = field(default_factory=set)
    whatsapp_media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # X: user access token -> user id; tweets whose authors summoned us (None: no check).
    x_tokens: dict[str, str] = field(default_factory=dict)
    x_summoned: set[str] | None = None
    x_dm_closed: set[str] = field(default_factory=set)
    x_limit: int = 100
    # Telegram: token -> (bot id, username); known chats (None: any); blocked chats; files.
    telegram_bots: dict[str, tuple[int, str]] = field(default_factory=dict)
    telegram_chats: dict[int, dict] | None = None
    telegram_blocked: set[int] = field(default_factory=set)
    telegram_files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, list[Injected]] = {}
        self._ids = itertools.count(1_000_001)
        self._x_used: dict[tuple[str, str], int] = {}
        self._x_window_start = self.now()

    def inject(
        self, provider: str, fault: Fault, times: int = 1, path_contains: str | None = None
    ) -> None:
        """Answer the next `times` matching requests to `provider` with `fault`."""
        with self._lock:
            self._faults.setdefault(provider, []).append(Injected(fault, times, path_contains))

    def take_fault(self, provider: str, path: str) -> Fault | None:
        """Pop the first injected fault matching this request, if any."""
        with self._lock:
            for injected in self._faults.get(provider, []):
                if injected.times > 0 and (injected.path_contains or "") in path:
                    injected.times -= 1
                    return injected.fault
        return None

    def record(self, call: Call) -> None:
        """Keep a received request."""
        with self._lock:
            self.calls.append(call)

    def calls_to(self, provider: str) -> list[Call]:
        """The recorded requests to one provider."""
        with self._lock:
            return [c for c in self.calls if c.provider == provider]

    def next_id(self) -> str:
        """A fresh numeric id for created objects."""
        with self._lock:
            return str(next(self._ids))

    def within(self, since: datetime | None, hours: float) -> bool:
        """Whether `since` (None: unknown, allowed) is less than `hours` ago."""
        return since is None or self.now() - since <= timedelta(hours=hours)

    def x_quota(self, endpoint: str, token: str) -> tuple[int, int, int]:
        """Count a call against X's 15-minute window: (limit, remaining, reset epoch)."""
        with self._lock:
            if self.now() - self._x_window_start > timedelta(minutes=15):
                self._x_used.clear()
                self._x_window_start = self.now()
            used = self._x_used.get((endpoint, token), 0) + 1
            self._x_used[(endpoint, token)] = used
            reset = int((self._x_window_start + timedelta(minutes=15)).timestamp())
            return self.x_limit, self.x_limit - used, reset
