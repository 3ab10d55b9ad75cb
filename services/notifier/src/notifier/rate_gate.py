"""Hold a provider account's replies back until its rate limit resets, without calling it.

One 429 closes the gate for its key until the provider's reset time; every reply for that key
meanwhile goes straight to a delay queue, so a burst of throttled replies costs one request,
not one each, and never spins. The gate is per process: another process learns the reset time
from its own first 429.
"""

from __future__ import annotations

import threading
from datetime import datetime


class RateGate:
    """Reset times by key (`x:<user id>:x_dm`, `meta:<page id>`, ...)."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def closed_until(self, key: str, now: datetime) -> datetime | None:
        """When the gate for `key` opens again, or None if it is open."""
        with self._lock:
            until = self._until.get(key)
            if until is not None and until <= now:
                del self._until[key]
                return None
            return until

    def close(self, key: str, until: datetime) -> None:
        """Keep `key` closed until `until` (a later reset time wins)."""
        with self._lock:
            current = self._until.get(key)
            if current is None or until > current:
                self._until[key] = until
