"""switchboard-admin against the real broker: queues, dlq show, dlq replay (also interrupted)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard_shared.consumer import REASON_HEADER
from switchboard_shared.publisher import Outgoing, Publisher, event_message
from switchboard_shared.topology import DEAD_LETTER_EXCHANGE
from tests.support.builders import event
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]


def admin(amqp_url: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "SWITCHBOARD_AMQP_URL": amqp_url}
    return subprocess.run(
        [sys.executable, "-m", "switchboard_shared.admin.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


def dead_letter(publisher: Publisher, count: int, reason: str = "recipient does not exist"):
    """Put `count` events into inbox.messages.dlq as the consumer would; return their ids."""
    events = [event() for _ in range(count)]
    messages = []
    for e in events:
        message = event_message(e)
        headers = {**message.headers, REASON_HEADER: reason, "x-original-queue": "inbox.messages"}
        messages.append(
            Outgoing(DEAD_LETTER_EXCHANGE, "inbox.messages", message.body, headers, e.event_id)
        )
    for start in range(0, count, 500):
        publisher.send(messages[start : start + 500])
    return {e.event_id for e in events}


def test_queues_lists_depth_consumers_and_dead_letters(amqp_url, amqp_settings, broker):
    dead_letter(Publisher(amqp_settings), 3)
    result = admin(amqp_url, "queues", "--json")
    assert result.returncode == 0, result.stderr
    states = {s["name"]: s for s in json.loads(result.stdout)}
    assert states["inbox.messages"] == {
        "name": "inbox.messages",
        "messages": 0,
        "consumers": 0,
        "dead_letters": 3,
    }
    assert states["switchboard.delay.10s"]["dead_letters"] is None
    assert "inbox.messages" in admin(amqp_url, "queues").stdout


def test_dlq_show_prints_reason_headers_and_body_and_leaves_them(amqp_url, amqp_settings, broker):
    dead_letter(Publisher(amqp_settings), 3)
    result = admin(amqp_url, "dlq", "show", "inbox.messages", "-n", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("reason: recipient does not exist") == 2
    assert '"schema": "message.received/1"' in result.stdout
    assert '"channel": "email"' in result.stdout
    broker.wait_depth("inbox.messages.dlq", 3)


def test_dlq_replay_returns_dead_letters_to_their_queue(amqp_url, amqp_settings, broker):
    ids = dead_letter(Publisher(amqp_settings), 20)
    result = admin(amqp_url, "dlq", "replay", "inbox.messages", "-n", "15")
    assert result.returncode == 0, result.stderr
    assert "replayed 15" in result.stdout
    broker.wait_depth("inbox.messages", 15)
    broker.wait_depth("inbox.messages.dlq", 5)
    assert admin(amqp_url, "dlq", "replay", "inbox.messages").returncode == 0
    replayed = broker.take_all("inbox.messages")
    assert {p.headers["event_id"] for p, _ in replayed} == ids
    # Replayed messages start afresh: no dead-letter reason, original event headers kept.
    assert all(REASON_HEADER not in p.headers for p, _ in replayed)
    assert all(p.headers["schema"] == "message.received/1" for p, _ in replayed)


def test_an_interrupted_replay_loses_nothing(amqp_url, amqp_settings, broker):
    ids = dead_letter(Publisher(amqp_settings), 6000)
    broker.wait_depth("inbox.messages.dlq", 6000)
    env = {**os.environ, "SWITCHBOARD_AMQP_URL": amqp_url}
    replay = subprocess.Popen(
        [sys.executable, "-m", "switchboard_shared.admin.cli", "dlq", "replay", "inbox.messages"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(
        lambda: broker.depth("inbox.messages") >= 300,
        timeout=60,
        interval=0.01,
        message="the replay to get going",
    )
    replay.send_signal(signal.SIGKILL)
    replay.wait(timeout=10)
    moved = broker.take_all("inbox.messages")
    left = broker.take_all("inbox.messages.dlq")
    assert 0 < len(left) < 6000, "the kill should land half-way"
    seen = [p.headers["event_id"] for p, _ in moved + left]
    assert set(seen) == ids
    # At most the one message in flight at the kill is in both queues.
    assert len(seen) - len(ids) <= 1


def test_an_unknown_queue_is_a_clear_error(amqp_url, broker):
    result = admin(amqp_url, "dlq", "show", "inbox.nope")
    assert result.returncode == 2
    assert "unknown queue 'inbox.nope'" in result.stderr


@pytest.mark.parametrize("args", [("queues",), ("dlq", "show", "inbox.messages")])
def test_a_missing_broker_url_is_a_clear_error(args):
    env = {k: v for k, v in os.environ.items() if k != "SWITCHBOARD_AMQP_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "switchboard_shared.admin.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SWITCHBOARD_AMQP_URL is required" in result.stderr
