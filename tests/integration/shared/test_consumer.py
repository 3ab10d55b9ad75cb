"""The consumer base against the real broker: ack, retry, dead-letter, batches, SIGTERM."""

import json
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pika
import pytest

from switchboard_shared.consumer import ATTEMPT_HEADER, REASON_HEADER, Consumer
from switchboard_shared.publisher import Outgoing, Publisher
from switchboard_shared.topology import EXCHANGE, QUEUES_BY_NAME, delay_name
from tests.support import rabbitmq
from tests.support.builders import event
from tests.support.scripted_handler import ScriptedBatchHandler, ScriptedHandler
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
INBOX = QUEUES_BY_NAME["inbox.messages"]


class Running:
    """A consumer running in a thread for the duration of a `with` block."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.thread = threading.Thread(target=consumer.run_until_stopped, daemon=True)

    def __enter__(self) -> Consumer:
        self.thread.start()
        return self.consumer

    def __exit__(self, *exc) -> None:
        self.consumer.stop()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "consumer did not stop"


def consumer(settings, handler, **kwargs) -> Consumer:
    return Consumer(settings, [INBOX], {"message.received/1": handler}, **kwargs)


def dead_letters(broker):
    return [(p.headers, json.loads(b)) for p, b in broker.take_all("inbox.messages.dlq")]


def test_a_handled_message_is_acked(amqp_settings, broker):
    handler = ScriptedHandler()
    Publisher(amqp_settings).publish(event(text="ok"))
    with Running(consumer(amqp_settings, handler)):
        wait_for(lambda: len(handler.seen) == 1, message="the handler to run")
        broker.wait_depth("inbox.messages", 0)
    assert broker.depth("inbox.messages") == 0
    assert broker.depth("inbox.messages.dlq") == 0
    assert handler.seen[0].payload["sent_at"].tzinfo is not None  # loaded by the schema


def test_a_retryable_error_goes_round_the_delay_queue_then_to_the_dlq(amqp_settings, broker):
    handler = ScriptedHandler()
    Publisher(amqp_settings).publish(event(text="retry"))
    with Running(consumer(amqp_settings, handler, max_attempts=2)):
        broker.wait_depth("inbox.messages.dlq", 1, timeout=20)
    assert [seen.attempt for seen in handler.seen] == [0, 1]
    [(headers, body)] = dead_letters(broker)
    assert headers[REASON_HEADER] == "gave up after 2 attempts: upstream said try later"
    assert headers[ATTEMPT_HEADER] == 1
    assert headers["x-original-routing-key"] == "message.received.email"
    assert body["text"] == "retry"


def test_a_permanent_error_is_dead_lettered_with_its_reason(amqp_settings, broker):
    Publisher(amqp_settings).publish(event(text="permanent"))
    with Running(consumer(amqp_settings, ScriptedHandler())):
        broker.wait_depth("inbox.messages.dlq", 1)
    [(headers, _)] = dead_letters(broker)
    assert headers[REASON_HEADER] == "recipient does not exist"
    assert headers["x-original-queue"] == "inbox.messages"
    assert broker.depth("inbox.messages") == 0


def test_an_unexpected_exception_is_logged_and_dead_lettered(amqp_settings, broker, caplog):
    Publisher(amqp_settings).publish(event(text="crash"))
    with caplog.at_level(logging.ERROR), Running(consumer(amqp_settings, ScriptedHandler())):
        broker.wait_depth("inbox.messages.dlq", 1)
    [(headers, _)] = dead_letters(broker)
    assert headers[REASON_HEADER] == "unexpected ZeroDivisionError: handler bug"
    [record] = [r for r in caplog.records if r.exc_info]
    assert "ZeroDivisionError" in caplog.text and record.exc_info[0] is ZeroDivisionError


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b'{"channel": "email"}', {"schema": "message.received/1"}, "invalid message.received/1"),
        (b"not json", {"schema": "message.received/1"}, "body is not JSON"),
        (b"{}", {"schema": "message.received/7"}, "unknown schema header"),
        (b"{}", {}, "unknown schema header None"),
    ],
)
def test_an_invalid_event_is_dead_lettered(amqp_settings, broker, body, headers, reason):
    Publisher(amqp_settings).send([Outgoing(EXCHANGE, "message.received.email", body, headers)])
    handler = ScriptedHandler()
    with Running(consumer(amqp_settings, handler)):
        broker.wait_depth("inbox.messages.dlq", 1)
    [(properties, _)] = broker.take_all("inbox.messages.dlq")
    assert reason in properties.headers[REASON_HEADER]
    assert handler.seen == []


def test_batches_are_handled_together_and_a_bad_event_does_not_sink_the_rest(amqp_settings, broker):
    handler = ScriptedBatchHandler()
    events = [event(text="ok") for _ in range(59)] + [event(text="permanent")]
    Publisher(amqp_settings).publish_many(events)
    with Running(consumer(amqp_settings, handler, batch_size=25, batch_wait=0.05)):
        broker.wait_depth("inbox.messages.dlq", 1)
        broker.wait_depth("inbox.messages", 0)
    assert max(handler.batch_sizes) > 1
    done = {e.event_id for e in handler.seen if e.payload["text"] == "ok"}
    assert done == {e.event_id for e in events[:59]}
    [(headers, _)] = dead_letters(broker)
    assert headers[REASON_HEADER] == "recipient does not exist"


class GatedBatchHandler(ScriptedBatchHandler):
    """Holds its first batch until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.running = threading.Event()
        self.release = threading.Event()

    def handle_batch(self, events) -> None:
        if not self.batch_sizes:
            self.running.set()
            assert self.release.wait(15), "the first batch was never released"
        super().handle_batch(events)


def test_the_next_batch_keeps_growing_while_one_runs(amqp_settings, broker):
    # Flushing on the timer while a batch runs would only block the consumer thread, so
    # what arrives during a long batch must become one batch, not a trail of small ones.
    handler = GatedBatchHandler()
    wait = 0.05
    publisher = Publisher(amqp_settings)
    with Running(consumer(amqp_settings, handler, batch_size=100, batch_wait=wait)):
        publisher.publish_many([event(text="first")])
        assert handler.running.wait(15), "the first batch never started"
        publisher.publish_many([event(text="early") for _ in range(15)])
        broker.wait_depth("inbox.messages", 0)
        # Let the timer of the pending batch run out several times over.
        started = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 6 * wait, timeout=5)
        publisher.publish_many([event(text="late") for _ in range(15)])
        broker.wait_depth("inbox.messages", 0)
        handler.release.set()
        wait_for(lambda: len(handler.seen) == 31, timeout=15, message="every event handled")
    publisher.close()
    assert handler.batch_sizes == [1, 30]


def test_sigterm_finishes_the_message_in_hand_and_requeues_the_rest(
    amqp_url, amqp_settings, broker, tmp_path
):
    journal = tmp_path / "journal"
    journal.touch()
    slow = event(text="slow:2")
    others = [event(text="ok") for _ in range(5)]
    Publisher(amqp_settings).publish_many([slow, *others])
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.support.scripted_worker", amqp_url, str(journal)],
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(
            lambda: f"started {slow.event_id}" in journal.read_text(),
            timeout=20,
            message="the slow message to start",
        )
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == 0, stderr.decode()
    lines = journal.read_text().splitlines()
    assert f"done {slow.event_id}" in lines
    # The slow one was finished and acked; each prefetched other was either handled before
    # the loop saw the stop, or went back to the queue: none lost, none dead-lettered.
    handled = {e.event_id for e in others if f"done {e.event_id}" in lines}
    broker.wait_depth("inbox.messages", len(others) - len(handled))
    requeued = {p.headers["event_id"] for p, _ in broker.take_all("inbox.messages")}
    assert handled | requeued == {e.event_id for e in others}
    assert not handled & requeued
    assert broker.depth("inbox.messages.dlq") == 0


@pytest.mark.broker_restart
def test_the_delay_queues_survive_a_broker_restart(amqp_settings, broker):
    body = json.dumps({"kept": True}).encode()
    parked = Outgoing(delay_name(10), "inbox.messages", body, {"schema": "message.received/1"})
    Publisher(amqp_settings).send([parked])
    broker.wait_depth(delay_name(10), 1)
    rabbitmq.stop_broker()
    rabbitmq.start_broker()
    broker.close()
    # After its 10 s in the delay queue, the message is routed home to its work queue.
    broker.wait_depth("inbox.messages", 1, timeout=60)
    [(_, received)] = broker.take_all("inbox.messages")
    assert received == body


def test_the_probe_and_consumers_see_the_same_broker(amqp_url):
    # Guards the harness itself: the vhost exists and accepts pika connections.
    pika.BlockingConnection(pika.URLParameters(amqp_url)).close()
