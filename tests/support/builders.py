"""Builders for valid bus events: override only what a test cares about."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from switchboard_shared.schemas import (
    CONVERSATION_CHANGED,
    DELIVERY_STATUS,
    MESSAGE_RECEIVED,
    REPLY_REQUESTED,
    Event,
)


def message_received(**overrides: Any) -> dict:
    """A valid `message.received/1` payload (an email)."""
    now = datetime.now(UTC)
    payload = {
        "channel": "email",
        "inbox": "support@example.com",
        "external_id": f"<{uuid.uuid4().hex}@mail.example.net>",
        "visibility": "private",
        "author": {
            "external_id": "ada@example.net",
            "email": "ada@example.net",
            "display_name": "Ada Lovelace",
        },
        "subject": "My order",
        "text": "Where is my order?",
        "sent_at": now,
        "received_at": now,
        "raw_sha256": "ab" * 32,
    }
    payload.update(overrides)
    return payload


def reply_requested(**overrides: Any) -> dict:
    """A valid `reply.requested/1` payload (a Messenger reply)."""
    payload = {
        "reply_id": str(uuid.uuid4()),
        "conversation_id": str(uuid.uuid4()),
        "channel": "messenger",
        "inbox": "1234567890",
        "visibility": "private",
        "recipient": {"external_id": "24680"},
        "text": "Your order ships today.",
        "requested_at": datetime.now(UTC),
    }
    payload.update(overrides)
    return payload


def delivery_status(**overrides: Any) -> dict:
    """A valid `delivery.status/1` payload."""
    payload = {
        "channel": "messenger",
        "inbox": "1234567890",
        "status": "sent",
        "reply_id": str(uuid.uuid4()),
        "external_ids": ["m_abc"],
        "occurred_at": datetime.now(UTC),
    }
    payload.update(overrides)
    return payload


def conversation_changed(**overrides: Any) -> dict:
    """A valid `conversation.changed/1` payload."""
    payload = {
        "conversation_id": str(uuid.uuid4()),
        "change": "message_added",
        "occurred_at": datetime.now(UTC),
    }
    payload.update(overrides)
    return payload


def event(payload: dict | None = None, **overrides: Any) -> Event:
    """A `message.received` Event (the most common in tests)."""
    return Event(MESSAGE_RECEIVED, payload or message_received(**overrides))


BUILDERS = {
    MESSAGE_RECEIVED: message_received,
    REPLY_REQUESTED: reply_requested,
    DELIVERY_STATUS: delivery_status,
    CONVERSATION_CHANGED: conversation_changed,
}
