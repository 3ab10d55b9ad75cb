"""Real worker processes over the real broker: the new-customer race and the outbox relay."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import MESSAGE_RECEIVED, REPLY_REQUESTED, Event
from tests.integration.inbox.conftest import count
from tests.integration.inbox.worker_processes import running_workers, worker_environment
from tests.support.builders import message_received, reply_requested
from tests.support.waiting import wait_for

CUSTOMERS = 100
MESSAGES_EACH = 5


def test_two_workers_make_one_contact_and_one_conversation_per_new_customer(
    db, broker, amqp_settings, migrated_database_url, tmp_path
):
    start = datetime.now(UTC)
    # Interleaved: customer 0..99 message 1, then each one's message 2, ... so both workers
    # see the first messages of the same new customers at the same time.
    events = [
        Event(
            MESSAGE_RECEIVED,
            message_received(
                channel="messenger",
                inbox="page-race",
                external_id=f"m_{n}_{customer}",
                author={"external_id": f"psid-{customer}"},
                subject=None,
                sent_at=start + timedelta(milliseconds=n),
            ),
        )
        for n in range(MESSAGES_EACH)
        for customer in range(CUSTOMERS)
    ]
    publisher = Publisher(amqp_settings)
    publisher.publish_many(events)
    publisher.publish_many(events[:50])  # redeliveries too
    publisher.close()
    environment = worker_environment(
        str(amqp_settings.url),
        migrated_database_url,
        tmp_path,
        SWITCHBOARD_INBOX_BATCH_SIZE="10",
    )
    with running_workers(2, environment):
        wait_for(
            lambda: (
                count(db, "messages") == len(events)
                and broker.depth("inbox.messages") == 0
                # The relay publishes after the worker commits: wait for it too.
                and count(db, "outbox", "published_at IS NULL") == 0
            ),
            timeout=60,
            message="every message stored and announced",
        )
    assert count(db, "contacts") == CUSTOMERS
    assert count(db, "conversations") == CUSTOMERS
    assert broker.depth("inbox.messages.dlq") == 0


def test_the_relay_publishes_replies_with_their_ids_and_stamps_them(
    db, broker, amqp_settings, migrated_database_url, tmp_path
):
    payload = REPLY_REQUESTED.validate(reply_requested(channel="email", email=None))
    event_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO inbox.outbox (event_type, payload, event_id, trace_id)"
        " VALUES (%s, %s, %s, 'trace-1')",
        (REPLY_REQUESTED.header, json.dumps(payload), event_id),
    )
    environment = worker_environment(str(amqp_settings.url), migrated_database_url, tmp_path)
    with running_workers(1, environment):
        broker.wait_depth("notifier.email", 1, timeout=30)
        wait_for(lambda: count(db, "outbox", "published_at IS NULL") == 0, timeout=10)
    ((properties, body),) = broker.take_all("notifier.email")
    assert properties.headers["event_id"] == event_id
    assert properties.headers["trace_id"] == "trace-1"
    assert json.loads(body)["reply_id"] == payload["reply_id"]
