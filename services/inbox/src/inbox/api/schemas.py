"""The API's request and response bodies (marshmallow; flask-smorest validates and documents)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from switchboard_shared.schemas.common import CHANNELS

STATUSES = ("open", "pending", "snoozed", "resolved")
PRIORITIES = ("low", "normal", "high", "urgent")
ROLES = ("admin", "agent")
_LIMIT = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))
_SHORT = validate.Length(min=1, max=200)


class AgentSchema(Schema):
    """An agent as others see it."""

    id = fields.UUID(dump_only=True)
    email = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class NewAgentSchema(Schema):
    """An agent an admin creates."""

    email = fields.Email(required=True)
    display_name = fields.String(required=True, validate=_SHORT)
    role = fields.String(load_default="agent", validate=validate.OneOf(ROLES))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=8, max=200)
    )


class AgentChangeSchema(Schema):
    """What an admin may change about an agent."""

    display_name = fields.String(validate=_SHORT)
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()


class LoginSchema(Schema):
    """Credentials for a web session."""

    email = fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class SessionSchema(Schema):
    """The signed-in agent and the CSRF token the web inbox sends back on every change."""

    agent = fields.Nested(AgentSchema, dump_only=True)
    csrf_token = fields.String(dump_only=True, allow_none=True)


class NewTokenSchema(Schema):
    """A name for a new API token."""

    name = fields.String(required=True, validate=_SHORT)


class TokenSchema(Schema):
    """An API token's record; `token` is shown once, when it is created."""

    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    token = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)


class InboxSchema(Schema):
    """A channel account messages arrive at."""

    id = fields.UUID(dump_only=True)
    channel = fields.String(dump_only=True)
    address = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    auto_assign = fields.Boolean(dump_only=True)
    member_ids = fields.List(fields.UUID(), dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class InboxChangeSchema(Schema):
    """Rename an inbox, switch round-robin assignment, choose its members."""

    name = fields.String(validate=_SHORT)
    auto_assign = fields.Boolean()
    member_ids = fields.List(fields.UUID(), validate=validate.Length(max=500))


class ConversationListArgsSchema(Schema):
    """Filters of the conversation list; `cursor` continues where a page ended."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    assignee = fields.String(
        validate=validate.Regexp(r"^(me|unassigned|anyone|[0-9a-fA-F-]{36})$"),
        metadata={"description": "me, unassigned, anyone or an agent id"},
    )
    inbox_id = fields.UUID()
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    label = fields.String(validate=_SHORT)
    q = fields.String(validate=_SHORT, metadata={"description": "full-text search"})
    limit = _LIMIT
    cursor = fields.String(validate=validate.Length(max=200))


class ConversationSchema(Schema):
    """A conversation in the list."""

    id = fields.UUID(dump_only=True)
    token = fields.String(dump_only=True)
    inbox_id = fields.UUID(dump_only=True)
    inbox_address = fields.String(dump_only=True)
    inbox_name = fields.String(dump_only=True)
    channel = fields.String(dump_only=True)
    contact_id = fields.UUID(dump_only=True)
    contact_name = fields.String(dump_only=True, allow_none=True)
    contact_email = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    snoozed_until = fields.DateTime(dump_only=True, allow_none=True)
    assignee_id = fields.UUID(dump_only=True, allow_none=True)
    priority = fields.String(dump_only=True)
    labels = fields.List(fields.String(), dump_only=True)
    subject = fields.String(dump_only=True, allow_none=True)
    context = fields.Dict(dump_only=True)
    participants = fields.List(fields.String(), dump_only=True)
    split_from = fields.UUID(dump_only=True, allow_none=True)
    last_activity_at = fields.DateTime(dump_only=True)
    last_inbound_at = fields.DateTime(dump_only=True, allow_none=True)
    first_response_at = fields.DateTime(dump_only=True, allow_none=True)
    resolved_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class ConversationPageSchema(Schema):
    """One page of conversations and the cursor of the next (null on the last)."""

    items = fields.List(fields.Nested(ConversationSchema), dump_only=True)
    next_cursor = fields.String(dump_only=True, allow_none=True)


class AttachmentSchema(Schema):
    """A file attached to a message (its bytes are in the blob store)."""

    id = fields.UUID(dump_only=True)
    filename = fields.String(allow_none=True, validate=validate.Length(max=500))
    content_type = fields.String(load_default="application/octet-stream", validate=_SHORT)
    size = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    inline = fields.Boolean(dump_only=True)
    unavailable_reason = fields.String(dump_only=True, allow_none=True)


class MessageSchema(Schema):
    """A message, reply or note, with its delivery state and why it joined the conversation."""

    id = fields.UUID(dump_only=True)
    conversation_id = fields.UUID(dump_only=True)
    channel = fields.String(dump_only=True)
    direction = fields.String(dump_only=True)
    visibility = fields.String(dump_only=True)
    external_id = fields.String(dump_only=True, allow_none=True)
    author_contact_id = fields.UUID(dump_only=True, allow_none=True)
    author_agent_id = fields.UUID(dump_only=True, allow_none=True)
    subject = fields.String(dump_only=True, allow_none=True)
    text = fields.String(dump_only=True)
    html = fields.String(dump_only=True, allow_none=True)
    email_message_id = fields.String(dump_only=True, allow_none=True)
    thread_reason = fields.String(dump_only=True, allow_none=True)
    answers_message_id = fields.UUID(dump_only=True, allow_none=True)
    delivery_status = fields.String(dump_only=True, allow_none=True)
    delivery_reason = fields.String(dump_only=True, allow_none=True)
    delivery_updated_at = fields.DateTime(dump_only=True, allow_none=True)
    flags = fields.Dict(dump_only=True)
    recipients = fields.Dict(dump_only=True)
    split_from = fields.UUID(dump_only=True, allow_none=True)
    sent_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), dump_only=True)


class ConversationDetailSchema(ConversationSchema):
    """A conversation with every message, note and attachment."""

    messages = fields.List(fields.Nested(MessageSchema), dump_only=True)


class AssignmentSchema(Schema):
    """Who takes the conversation (null: nobody)."""

    assignee_id = fields.UUID(required=True, allow_none=True)


class StatusChangeSchema(Schema):
    """A new status; snoozing needs the time it reopens by itself."""

    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    snoozed_until = fields.AwareDateTime(allow_none=True, load_default=None)


class LabelsSchema(Schema):
    """The conversation's labels, replacing the old ones."""

    labels = fields.List(
        fields.String(validate=_SHORT), required=True, validate=validate.Length(max=50)
    )


class PrioritySchema(Schema):
    """The conversation's priority."""

    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))


class ReplySchema(Schema):
    """An agent's reply: public or private, naming the message it answers."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    html = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500_000))
    visibility = fields.String(
        load_default="private", validate=validate.OneOf(("public", "private"))
    )
    answers_message_id = fields.UUID(allow_none=True, load_default=None)
    confirm = fields.Boolean(
        load_default=False, metadata={"description": "send even if something new arrived"}
    )
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)


class NoteSchema(Schema):
    """An internal note: never sent to the customer."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class MergeSchema(Schema):
    """The conversation or contact merged into the one in the path."""

    source_id = fields.UUID(required=True)


class SplitSchema(Schema):
    """Messages moved into a new conversation."""

    message_ids = fields.List(
        fields.UUID(), required=True, validate=validate.Length(min=1, max=500)
    )
