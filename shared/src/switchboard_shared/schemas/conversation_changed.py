"""`conversation.changed/1`: something an agent's screen should refresh for."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from switchboard_shared.schemas.common import optional_string

CHANGES = (
    "created",
    "message_added",
    "note_added",
    "delivery_updated",
    "status_changed",
    "assigned",
    "labels_changed",
    "merged",
    "split",
)


class ConversationChangedSchema(Schema):
    """One change to one conversation; consumers fetch the details through the API."""

    conversation_id = fields.String(required=True)
    change = fields.String(required=True, validate=validate.OneOf(CHANGES))
    inbox = optional_string()
    channel = optional_string()
    message_id = optional_string()
    status = optional_string()
    assignee_id = optional_string()
    occurred_at = fields.AwareDateTime(required=True)


def routing_key(payload: dict) -> str:
    """One routing key: every listener wants every change."""
    return "conversation.changed"
