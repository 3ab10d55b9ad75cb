"""Errors the email parser raises on purpose."""

from __future__ import annotations

from switchboard_shared.errors import SwitchboardError


class NotEmailError(SwitchboardError):
    """The payload is not an email at all (a binary file, an empty body, random text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
