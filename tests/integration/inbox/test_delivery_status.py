"""Delivery statuses only move a reply forward, whatever order they arrive in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from inbox.handlers.delivery_status import DeliveryStatusHandler
from inbox.handlers.message_received import MessageReceivedHandler
from switchboard_shared.schemas import DELIVERY_STATUS
from tests.integration.inbox.conftest import consumed
from tests.support.builders import delivery_status, message_received


@pytest.fixture
def reply(db: psycopg.Connection, pool: ConnectionPool) -> str:
    """A queued Messenger reply in a conversation with customer psid-1."""
    inbound = message_received(
        channel="messenger", inbox="page-1", external_id="m_in", author={"external_id": "psid-1"}
    )
    MessageReceivedHandler(pool).handle_batch([consumed(inbound)])
    conversation, inbox = db.execute("SELECT id, inbox_id FROM inbox.conversations").fetchone()
    reply_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO inbox.messages (id, conversation_id, inbox_id, channel, direction,"
        " visibility, text, delivery_status, created_at) VALUES"
        " (%s, %s, %s, 'messenger', 'outbound', 'private', 'hi', 'queued',"
        "  now() - interval '1 minute')",
        (reply_id, conversation, inbox),
    )
    return reply_id


def apply(pool: ConnectionPool, **fields) -> None:
    payload = delivery_status(channel="messenger", inbox="page-1", **fields)
    DeliveryStatusHandler(pool).handle_batch([consumed(payload, DELIVERY_STATUS)])


def state(db: psycopg.Connection, reply: str) -> tuple:
    return db.execute(
        "SELECT delivery_status, provider_ids FROM inbox.messages WHERE id = %s", (reply,)
    ).fetchone()


def test_out_of_order_statuses_end_at_the_furthest_state(db, pool, reply):
    apply(pool, reply_id=reply, status="read", external_ids=[])
    apply(pool, reply_id=reply, status="delivered", external_ids=[])
    apply(pool, reply_id=reply, status="sent", external_ids=["m_out"])
    assert state(db, reply) == ("read", ["m_out"])


def test_receipts_by_provider_id_and_by_watermark(db, pool, reply):
    apply(pool, reply_id=reply, status="sent", external_ids=["m_out"])
    apply(pool, reply_id=None, status="delivered", external_ids=["m_out"])
    assert state(db, reply)[0] == "delivered"
    apply(
        pool,
        reply_id=None,
        external_ids=[],
        status="read",
        recipient_id="psid-1",
        watermark=datetime.now(UTC) + timedelta(seconds=1),
    )
    assert state(db, reply)[0] == "read"


def test_failed_is_final_and_keeps_its_reason(db, pool, reply):
    apply(pool, reply_id=reply, status="failed", reason="user blocked the page", external_ids=[])
    apply(pool, reply_id=reply, status="sent", external_ids=["m_late"])
    row = db.execute(
        "SELECT delivery_status, delivery_reason FROM inbox.messages WHERE id = %s", (reply,)
    ).fetchone()
    assert row == ("failed", "user blocked the page")


def test_a_reply_possibly_sent_twice_stays_flagged_once_sent(db, pool, reply):
    # Regression (found by tests/chaos): the flag on `sent` was dropped by the UPDATE.
    apply(pool, reply_id=reply, status="sent", external_ids=["m_out"], possible_duplicate=True)
    sent = db.execute(
        "SELECT delivery_status, delivery_reason FROM inbox.messages WHERE id = %s", (reply,)
    ).fetchone()
    assert sent == ("sent", "sent (possibly sent twice)")
    apply(pool, reply_id=None, status="delivered", external_ids=["m_out"])
    assert db.execute(
        "SELECT delivery_status, delivery_reason FROM inbox.messages WHERE id = %s", (reply,)
    ).fetchone() == ("delivered", "sent (possibly sent twice)")


def test_each_applied_status_announces_a_delivery_update(db, pool, reply):
    db.execute("DELETE FROM inbox.outbox")
    apply(pool, reply_id=reply, status="sent", external_ids=["m_out"])
    apply(pool, reply_id=reply, status="sent", external_ids=["m_out"])  # no change: no event
    payloads = [row[0] for row in db.execute("SELECT payload FROM inbox.outbox").fetchall()]
    assert [p["change"] for p in payloads] == ["delivery_updated"]
