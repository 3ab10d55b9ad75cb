"""The one exception tree every service uses for bus and configuration failures."""

from __future__ import annotations

from datetime import datetime


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""


class ConfigError(SwitchboardError):
    """The environment is missing a setting or holds a malformed one."""


class PublishError(SwitchboardError):
    """The broker did not confirm a publish: the caller must not acknowledge its source.

    `confirmed` holds the indexes, in the batch handed to the publisher, of the events
    the broker did confirm, so a batch caller can settle those and retry the rest.
    """

    def __init__(self, reason: str, confirmed: frozenset[int] = frozenset()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.confirmed = confirmed


class InvalidEventError(SwitchboardError):
    """An event does not match its schema (or names a schema we do not know)."""

    def __init__(self, reason: str, messages: dict | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.messages = messages or {}


class HandlerError(SwitchboardError):
    """Base of the errors a handler raises to steer what happens to the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentError(HandlerError):
    """Retrying cannot help: dead-letter the message with this reason."""


class RetryableError(HandlerError):
    """A transient failure: try again later, no sooner than `not_before` if given."""

    def __init__(self, reason: str, not_before: datetime | None = None) -> None:
        super().__init__(reason)
        self.not_before = not_before
