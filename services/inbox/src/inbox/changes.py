"""The events the inbox announces, as outbox rows: what changed in which conversation."""

from __future__ import annotations

from datetime import UTC, datetime

from switchboard_shared.schemas import CONVERSATION_CHANGED, REPLY_REQUESTED


def conversation_changed(
    conversation_id: str,
    change: str,
    *,
    trace_id: str,
    inbox: str | None = None,
    channel: str | None = None,
    message_id: str | None = None,
    status: str | None = None,
    assignee_id: str | None = None,
    occurred_at: datetime | None = None,
) -> dict:
    """An outbox row announcing `change` (see CHANGES in the conversation.changed schema)."""
    payload = {
        "conversation_id": conversation_id,
        "change": change,
        "inbox": inbox,
        "channel": channel,
        "message_id": message_id,
        "status": status,
        "assignee_id": assignee_id,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
    }
    return {"event_type": CONVERSATION_CHANGED.header, "payload": payload, "trace_id": trace_id}


def reply_requested(payload: dict, trace_id: str) -> dict:
    """An outbox row asking the notifier to send a reply."""
    return {
        "event_type": REPLY_REQUESTED.header,
        "payload": REPLY_REQUESTED.validate(payload),
        "trace_id": trace_id,
    }
