"""What every provider client shares: one requests.Session, explicit timeouts, honest errors.

A request that never reached the provider (no connection) can be retried freely; one that
timed out or lost its connection after being sent may have been accepted, so it is retried
with `maybe_delivered` set and the eventual status flagged as a possible duplicate.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
from urllib3.exceptions import NewConnectionError

from notifier.delivery_errors import TransientFailure

if TYPE_CHECKING:
    from notifier.accounts import Tokens

log = logging.getLogger(__name__)
# Tokens that travel in URLs (Telegram's path, Graph's query) must not reach a reason or log.
_SECRETS_IN_URLS = re.compile(r"(bot)[0-9]+:[A-Za-z0-9_-]+|(access_token=)[^&\s']+")


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect and to wait for the answer."""

    connect: float
    read: float


@dataclass(frozen=True)
class Answer:
    """A provider's answer: status, parsed JSON body (None if not JSON), headers."""

    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300


class ApiSession:
    """One requests.Session per provider, every call with the configured timeouts."""

    def __init__(self, provider: str, timeouts: Timeouts, user_agent: str = "switchboard-notifier"):
        self.provider = provider
        self.timeouts = timeouts
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        # No transparent retries: a retried POST could send a reply twice.
        adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def post(self, url: str, **kwargs: Any) -> Answer:
        """POST and return the answer; network failures become TransientFailure."""
        try:
            response = self.session.post(
                url, timeout=(self.timeouts.connect, self.timeouts.read), **kwargs
            )
        except requests.ConnectTimeout as exc:
            raise TransientFailure(f"{self.provider} did not accept a connection: {exc}") from None
        except requests.ReadTimeout:
            raise TransientFailure(
                f"{self.provider} did not answer within {self.timeouts.read:g}s",
                maybe_delivered=True,
            ) from None
        except requests.ConnectionError as exc:
            raise TransientFailure(
                f"connection to {self.provider} failed: {_short(exc)}",
                maybe_delivered=not _never_connected(exc),
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = response.text[:500] or None
        return Answer(response.status_code, body, dict(response.headers))

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


class ApiClient:
    """A provider's client: its base URL, the tokens, its session, and a clock."""

    provider = "the provider"

    def __init__(
        self,
        base_url: str,
        tokens: Tokens,
        timeouts: Timeouts,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.now = now
        self.api = ApiSession(self.provider, timeouts)

    def close(self) -> None:
        """Close the session."""
        self.api.close()


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether the request failed before a connection existed (so it was never sent)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _short(exc: Exception) -> str:
    text = _SECRETS_IN_URLS.sub(lambda m: (m.group(1) or m.group(2)) + "***", str(exc))
    return " ".join(text.split())[:300]
