"""What a send can come to: the outcomes the clients report and the handler acts on.

Delivered           the provider accepted: its message id
RateLimited         wait until `not_before` (the provider's reset time), then try again
TransientFailure    back off through the delay queues; `maybe_delivered` when the request
                    may have reached the provider (timeout or drop after sending)
PermanentFailure    retrying cannot help: fail now with the provider's reason
WindowClosed        a permanent failure because the channel's reply window has closed
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Delivered:
    """The provider accepted the reply."""

    provider_message_id: str | None
    detail: str | None = None
    # The provider said its quota is spent until then: hold further sends back.
    quota_reset: datetime | None = None


class SendFailure(Exception):
    """A send that did not (certainly) reach the customer; `reason` is for an agent to read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientFailure(SendFailure):
    """Try again later through the delay queues."""

    def __init__(self, reason: str, maybe_delivered: bool = False) -> None:
        super().__init__(reason)
        self.maybe_delivered = maybe_delivered


class RateLimited(TransientFailure):
    """The provider throttles us: no sooner than `not_before` (None: it did not say)."""

    def __init__(self, reason: str, not_before: datetime | None = None) -> None:
        super().__init__(reason)
        self.not_before = not_before


class PermanentFailure(SendFailure):
    """Retrying cannot help."""


class WindowClosed(PermanentFailure):
    """The channel no longer lets us write to this customer freely (24-hour window)."""
