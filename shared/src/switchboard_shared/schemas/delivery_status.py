"""`delivery.status/1`: what happened to an outbound message, from the notifier or a receipt."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from switchboard_shared.schemas.common import CHANNELS, optional_string

STATUSES = ("sending", "sent", "retrying", "delivered", "read", "failed")


class DeliveryStatusSchema(Schema):
    """A status for our reply `reply_id`, for provider ids, or for all sent before a watermark."""

    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    inbox = fields.String(required=True, validate=validate.Length(min=1))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reply_id = optional_string()
    # The provider's ids of the messages concerned (mid, wamid, tweet id, ...).
    external_ids = fields.List(fields.String(), load_default=list)
    # Receipts that say "everything to this person up to this time" (Messenger watermarks).
    recipient_id = optional_string()
    watermark = fields.AwareDateTime(allow_none=True, load_default=None)
    reason = optional_string()
    next_attempt_at = fields.AwareDateTime(allow_none=True, load_default=None)
    attempt = fields.Integer(allow_none=True, load_default=None)
    # Sent, but possibly twice: the process died between the provider's answer and our record.
    possible_duplicate = fields.Boolean(load_default=False)
    occurred_at = fields.AwareDateTime(required=True)

    @validates_schema
    def _names_something(self, data: dict, **_: object) -> None:
        if not (data.get("reply_id") or data.get("external_ids") or data.get("watermark")):
            raise ValidationError("a status needs reply_id, external_ids or a watermark")
        if data.get("watermark") and not data.get("recipient_id"):
            raise ValidationError("a watermark needs the recipient_id it applies to")


def routing_key(payload: dict) -> str:
    """Route by channel, like the messages the status is about."""
    return f"delivery.status.{payload['channel']}"
