"""Delivery states only move forward: queued -> sent -> delivered -> read; failed is final.

A late `delivered` never overwrites `read`; `sending` and `retrying` are steps before `sent`
and may alternate. Only an agent's retry (which queues the reply again) leaves `failed`.
"""

from __future__ import annotations

STATUSES = ("queued", "sending", "retrying", "sent", "delivered", "read", "failed")
_RANK = {"queued": 0, "sending": 1, "retrying": 1, "sent": 2, "delivered": 3, "read": 4}
# A failure reported after the customer's device confirmed delivery is not believed.
_FAILABLE = ("queued", "sending", "retrying", "sent")


def may_follow(current: str | None, new: str) -> bool:
    """Whether a message in state `current` may move to `new`."""
    if current == "failed" or current == new:
        return False
    if new == "failed":
        return current is None or current in _FAILABLE
    if current is None:
        return True
    rank, current_rank = _RANK[new], _RANK[current]
    return rank > current_rank or (rank == current_rank == 1)


def predecessors(new: str) -> list[str]:
    """Every state a message may be in for `new` to replace it (for a guarded UPDATE)."""
    return [state for state in STATUSES if may_follow(state, new)]
