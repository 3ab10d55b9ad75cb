"""The publisher against the real broker: confirms, validation, unroutable, broker outage."""

import json

import pytest

from switchboard_shared.errors import InvalidEventError, PublishError
from switchboard_shared.publisher import Outgoing, Publisher
from switchboard_shared.topology import EXCHANGE
from tests.support import rabbitmq
from tests.support.builders import event


def test_a_confirmed_publish_lands_in_the_bound_queue(amqp_settings, broker):
    publisher = Publisher(amqp_settings)
    sent = event(channel="telegram")
    publisher.publish(sent)
    broker.wait_depth("inbox.messages", 1)
    [(properties, body)] = broker.take_all("inbox.messages")
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.headers["schema"] == "message.received/1"
    assert properties.headers["event_id"] == sent.event_id
    assert properties.headers["trace_id"] == sent.trace_id
    assert json.loads(body)["external_id"] == sent.payload["external_id"]
    publisher.close()


def test_a_batch_is_confirmed_together(amqp_settings, broker):
    publisher = Publisher(amqp_settings)
    publisher.publish_many([event() for _ in range(300)])
    broker.wait_depth("inbox.messages", 300)
    publisher.close()


def test_a_batch_goes_out_in_one_write_intact_and_in_order(amqp_settings, broker):
    publisher = Publisher(amqp_settings)
    publisher.publish(event())  # connects
    transport = publisher._connection.connection.transport
    real_write, writes = transport._write, []
    transport._write = lambda data: writes.append(len(data)) or real_write(data)
    sent = [event(text="x" * size) for size in (10, 5000, 200_000, 10, 70_000)]
    publisher.publish_many(sent)
    assert len(writes) == 1, "the batch's frames in one system call"
    publisher.publish(event())  # the confirm tags still match what the broker counted
    publisher.publish_many([event(), event()])
    assert len(writes) == 3
    broker.wait_depth("inbox.messages", 9)
    bodies = [json.loads(body) for _, body in broker.take_all("inbox.messages")]
    assert [b["text"] for b in bodies[1:6]] == [e.payload["text"] for e in sent]
    publisher.close()


def test_an_invalid_event_is_refused_before_anything_is_sent(amqp_settings, broker):
    publisher = Publisher(amqp_settings)
    with pytest.raises(InvalidEventError, match="channel"):
        publisher.publish_many([event(), event(channel="fax")])
    assert broker.depth("inbox.messages") == 0
    publisher.close()


def test_an_unroutable_message_raises_and_names_what_was_confirmed(amqp_settings, broker):
    publisher = Publisher(amqp_settings)
    routable = Outgoing(EXCHANGE, "message.received.email", b"{}", {}, "a")
    unroutable = Outgoing(EXCHANGE, "nobody.listens", b"{}", {}, "b")
    with pytest.raises(PublishError, match="unroutable") as raised:
        publisher.send([routable, unroutable, routable])
    assert raised.value.confirmed == frozenset({0, 2})
    publisher.close()


@pytest.mark.broker_restart
def test_with_the_broker_stopped_a_publish_raises_and_recovers_afterwards(amqp_settings, broker):
    publisher = Publisher(amqp_settings)
    publisher.publish(event())
    rabbitmq.stop_broker()
    try:
        with pytest.raises(PublishError):
            publisher.publish(event())
        with pytest.raises(PublishError, match="broker unavailable"):
            publisher.publish(event())
    finally:
        rabbitmq.start_broker()
    # The same publisher, no restart of the process: it reconnects on the next call.
    publisher.publish(event())
    broker.close()
    broker.wait_depth("inbox.messages", 2, timeout=30)
    publisher.close()


def test_a_payload_that_cannot_become_an_event_is_parked_with_its_reason(amqp_settings, broker):
    publisher = Publisher(amqp_settings)
    publisher.reject("email-ingest/imap", "not an email: binary data", "cd" * 32, {"uid": 7})
    broker.wait_depth("switchboard.rejected", 1)
    [(properties, body)] = broker.take_all("switchboard.rejected")
    assert properties.headers["x-dead-letter-reason"] == "not an email: binary data"
    assert json.loads(body) == {
        "source": "email-ingest/imap",
        "reason": "not an email: binary data",
        "raw_sha256": "cd" * 32,
        "uid": 7,
    }
    publisher.close()
