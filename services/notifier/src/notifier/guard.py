"""The exactly-once guard's rule: given what the send-attempt row says, send or only announce.

sent                                   -> announce `sent` again, never send twice
sending, its owner alive               -> busy: another worker is sending it right now
sending, its owner gone                -> send, flagged: the owner died between sending
                                          and recording, so the provider may have it
new, retrying, failed                  -> send (flagged if an earlier attempt may have
                                          reached the provider: a timeout, a drop)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Action(enum.Enum):
    """What to do with a reply job."""

    SEND = "send"
    ANNOUNCE = "announce"
    BUSY = "busy"


@dataclass(frozen=True)
class AttemptRow:
    """The guard's row for one reply."""

    state: str
    owner: int | None
    attempts: int
    maybe_delivered: bool
    possible_duplicate: bool
    provider_message_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Decision:
    """The action, and whether a send now may repeat one the customer already has."""

    action: Action
    possible_duplicate: bool = False


def decide(row: AttemptRow, owner_alive: bool) -> Decision:
    """Apply the rule above."""
    if row.state == "sent":
        return Decision(Action.ANNOUNCE, row.possible_duplicate)
    if row.state == "sending":
        if owner_alive:
            return Decision(Action.BUSY)
        return Decision(Action.SEND, possible_duplicate=True)
    return Decision(Action.SEND, possible_duplicate=row.maybe_delivered or row.possible_duplicate)
