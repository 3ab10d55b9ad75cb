"""The inbox's domain errors; the API renders each with its HTTP status."""

from __future__ import annotations


class InboxError(Exception):
    """Base of every error an agent's request can run into."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(InboxError):
    """The thing asked for does not exist (or is not visible)."""

    status = 404


class Invalid(InboxError):
    """The request is well-formed but cannot be carried out as asked."""

    status = 422


class Conflict(InboxError):
    """The request collides with the current state."""

    status = 409


class Collision(Conflict):
    """Something new arrived in the conversation since the message the agent answered."""

    def __init__(self, new_messages: list[dict]) -> None:
        super().__init__(
            f"{len(new_messages)} new message(s) arrived since the one you answered;"
            " read them, then send again with confirm=true to send anyway"
        )
        self.new_messages = new_messages
