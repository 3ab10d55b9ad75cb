"""A webhook request as a network sends it, and ways to resend or reorder them."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

import requests


def encode(payload: Any) -> bytes:
    """Serialise like Meta and X do: compact, ASCII only, non-ASCII as lower-case \\u escapes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")


@dataclass(frozen=True)
class Delivery:
    """One webhook request: the exact body bytes and the headers that go with them."""

    body: bytes
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    method: str = "POST"

    def payload(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)

    def send(self, session: requests.Session, url: str, timeout: float = 5.0) -> requests.Response:
        """Send this request to `url` (the body exactly as built, never re-serialised)."""
        return session.request(
            self.method,
            url,
            params=self.query or None,
            data=self.body if self.method == "POST" else None,
            headers=self.headers,
            timeout=timeout,
        )


def redelivered(delivery: Delivery, times: int = 2) -> list[Delivery]:
    """The same request several times, as a network retries after a timeout or a 5xx."""
    return [delivery] * times


def out_of_order(deliveries: list[Delivery], seed: int = 7) -> list[Delivery]:
    """The same requests in a different order (deterministic for a seed)."""
    shuffled = list(deliveries)
    random.Random(seed).shuffle(shuffled)
    if shuffled == deliveries:
        shuffled = shuffled[1:] + shuffled[:1]
    return shuffled
