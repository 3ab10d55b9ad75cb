"""`reply.requested/1`: an agent's reply (or note-free automatic answer) to send out."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from switchboard_shared.schemas.common import (
    CHANNELS,
    VISIBILITIES,
    AddressSchema,
    AttachmentSchema,
    PartySchema,
    ThreadSchema,
    nested_with_defaults,
    optional_string,
)


class EmailEnvelopeSchema(Schema):
    """Headers the inbox assigns so the customer's answer threads back (RFC 5322 3.6.4)."""

    message_id = fields.String(required=True)
    in_reply_to = optional_string()
    references = fields.List(fields.String(), load_default=list)
    sender = fields.Nested(AddressSchema, required=True)
    reply_to = fields.Nested(AddressSchema, allow_none=True, load_default=None)
    to = fields.List(fields.Nested(AddressSchema), required=True, validate=validate.Length(min=1))
    cc = fields.List(fields.Nested(AddressSchema), load_default=list)


class AgentSchema(Schema):
    """The agent who wrote the reply."""

    id = fields.String(required=True)
    display_name = optional_string()


class ReplyRequestedSchema(Schema):
    """One outbound reply; the notifier sends it at most once per `reply_id`."""

    reply_id = fields.String(required=True, validate=validate.Length(min=1))
    conversation_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    inbox = fields.String(required=True, validate=validate.Length(min=1))
    visibility = fields.String(required=True, validate=validate.OneOf(VISIBILITIES))
    recipient = fields.Nested(PartySchema, required=True)
    # The provider's id of the message answered: comment, tweet, mid, wamid, Telegram message.
    in_reply_to = optional_string()
    thread = nested_with_defaults(ThreadSchema)
    email = fields.Nested(EmailEnvelopeSchema, allow_none=True, load_default=None)
    subject = optional_string()
    text = fields.String(required=True)
    html = optional_string()
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    agent = fields.Nested(AgentSchema, allow_none=True, load_default=None)
    automatic = fields.Boolean(load_default=False)
    requested_at = fields.AwareDateTime(required=True)
    metadata = fields.Dict(keys=fields.String(), load_default=dict)


def routing_key(payload: dict) -> str:
    """Route by channel so each provider has its own queue and back-off."""
    return f"reply.requested.{payload['channel']}"
