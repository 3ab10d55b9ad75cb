"""The forward-only delivery state machine."""

from __future__ import annotations

import pytest

from inbox.delivery import may_follow, predecessors


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "read", True),
        ("read", "delivered", False),
        ("delivered", "sent", False),
        ("sending", "retrying", True),
        ("retrying", "sending", True),
        ("retrying", "sent", True),
        ("sent", "failed", True),
        ("read", "failed", False),
        ("failed", "sent", False),
        ("failed", "read", False),
        ("sent", "sent", False),
    ],
)
def test_states_only_move_forward(current: str, new: str, allowed: bool) -> None:
    assert may_follow(current, new) is allowed


def test_predecessors_list_what_a_guarded_update_may_replace() -> None:
    assert predecessors("delivered") == ["queued", "sending", "retrying", "sent"]
    assert predecessors("failed") == ["queued", "sending", "retrying", "sent"]
