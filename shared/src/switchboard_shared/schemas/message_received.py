"""`message.received/1`: one inbound message, normalized from any channel."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from switchboard_shared.schemas.common import (
    CHANNELS,
    SHA256,
    VISIBILITIES,
    AddressSchema,
    AttachmentSchema,
    PartySchema,
    ThreadSchema,
    nested_with_defaults,
    optional_string,
)


class RecipientsSchema(Schema):
    """The email envelope's addressees as the headers name them."""

    to = fields.List(fields.Nested(AddressSchema), load_default=list)
    cc = fields.List(fields.Nested(AddressSchema), load_default=list)
    reply_to = fields.List(fields.Nested(AddressSchema), load_default=list)


class FlagsSchema(Schema):
    """What kind of message this is, beyond a person writing to us."""

    auto_submitted = fields.Boolean(load_default=False)
    bounce = fields.Boolean(load_default=False)
    echo = fields.Boolean(load_default=False)


class BounceSchema(Schema):
    """What a delivery status notification reports about a message we sent."""

    original_message_id = optional_string()
    recipient = optional_string()
    action = optional_string()
    status = optional_string()
    diagnostic = optional_string()


class MessageReceivedSchema(Schema):
    """One inbound message; unique by (channel, inbox, external_id), for email by Message-ID."""

    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    inbox = fields.String(required=True, validate=validate.Length(min=1))
    external_id = fields.String(required=True, validate=validate.Length(min=1))
    visibility = fields.String(required=True, validate=validate.OneOf(VISIBILITIES))
    author = fields.Nested(PartySchema, required=True)
    # The customer an echo (our own outbound message seen again) was sent to.
    recipient = fields.Nested(PartySchema, allow_none=True, load_default=None)
    recipients = nested_with_defaults(RecipientsSchema)
    thread = nested_with_defaults(ThreadSchema)
    subject = optional_string()
    text = fields.String(required=True)
    reply_text = optional_string()
    html = optional_string()
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    sent_at = fields.AwareDateTime(required=True)
    received_at = fields.AwareDateTime(required=True)
    raw_sha256 = fields.String(required=True, validate=SHA256)
    flags = nested_with_defaults(FlagsSchema)
    bounce = fields.Nested(BounceSchema, allow_none=True, load_default=None)
    defects = fields.List(fields.String(), load_default=list)
    # Channel specifics a reply needs (a Telegram chat id, a WhatsApp context id, ...).
    metadata = fields.Dict(keys=fields.String(), load_default=dict)


def routing_key(payload: dict) -> str:
    """Route by channel so consumers can bind to one channel or all."""
    return f"message.received.{payload['channel']}"
