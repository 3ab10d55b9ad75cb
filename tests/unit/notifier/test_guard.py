"""The exactly-once rule, the reply window and the rate gate: pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.delivery_errors import WindowClosed
from notifier.guard import Action, AttemptRow, decide
from notifier.rate_gate import RateGate
from notifier.reply_window import HUMAN_AGENT, RESPONSE, may_tag_human_agent, messaging_type

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def row(state: str, maybe_delivered: bool = False, possible_duplicate: bool = False):
    return AttemptRow(state, 7, 1, maybe_delivered, possible_duplicate, "m_1", None)


def test_a_sent_reply_is_only_announced_with_its_flag():
    assert decide(row("sent"), owner_alive=False).action is Action.ANNOUNCE
    assert decide(row("sent", possible_duplicate=True), False).possible_duplicate


def test_a_send_in_progress_by_a_live_worker_is_left_alone():
    assert decide(row("sending"), owner_alive=True).action is Action.BUSY


def test_a_send_whose_worker_died_is_sent_again_flagged():
    decision = decide(row("sending"), owner_alive=False)
    assert decision.action is Action.SEND and decision.possible_duplicate


@pytest.mark.parametrize("state", ["new", "retrying", "failed"])
def test_unfinished_replies_are_sent_flagged_only_if_an_attempt_may_have_arrived(state):
    assert decide(row(state), owner_alive=False).action is Action.SEND
    assert not decide(row(state), owner_alive=False).possible_duplicate
    assert decide(row(state, maybe_delivered=True), owner_alive=False).possible_duplicate


@pytest.mark.parametrize(
    ("age", "human", "expected"),
    [
        (None, True, RESPONSE),
        (timedelta(hours=23), True, RESPONSE),
        (timedelta(hours=25), True, HUMAN_AGENT),
        (timedelta(days=6, hours=23), True, HUMAN_AGENT),
    ],
)
def test_messaging_type_follows_the_windows(age, human, expected):
    last = None if age is None else NOW - age
    assert messaging_type(last, NOW, human) == expected


@pytest.mark.parametrize(
    ("age", "human"), [(timedelta(hours=25), False), (timedelta(days=8), True)]
)
def test_outside_every_window_the_reply_fails_clearly(age, human):
    with pytest.raises(WindowClosed, match="must write again"):
        messaging_type(NOW - age, NOW, human)


def test_only_a_person_may_use_the_human_agent_tag():
    assert may_tag_human_agent(automatic=False, allowed=True)
    assert not may_tag_human_agent(automatic=True, allowed=True)
    assert not may_tag_human_agent(automatic=False, allowed=False)


def test_the_rate_gate_holds_until_the_latest_reset():
    gate = RateGate()
    assert gate.closed_until("x:1", NOW) is None
    gate.close("x:1", NOW + timedelta(minutes=5))
    gate.close("x:1", NOW + timedelta(minutes=1))
    assert gate.closed_until("x:1", NOW) == NOW + timedelta(minutes=5)
    assert gate.closed_until("x:2", NOW) is None
    assert gate.closed_until("x:1", NOW + timedelta(minutes=6)) is None
