"""Bodies of the contact and canned-response endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from inbox.api.schemas import MessageSchema

_SHORT = validate.Length(min=1, max=200)


class IdentitySchema(Schema):
    """How one channel knows the contact."""

    id = fields.UUID(dump_only=True)
    kind = fields.String(dump_only=True)
    scope = fields.String(dump_only=True)
    value = fields.String(dump_only=True)
    handle = fields.String(dump_only=True, allow_none=True)
    display_name = fields.String(dump_only=True, allow_none=True)


class ContactSchema(Schema):
    """A customer."""

    id = fields.UUID(dump_only=True)
    display_name = fields.String(dump_only=True, allow_none=True)
    email = fields.String(dump_only=True, allow_none=True)
    notes = fields.String(dump_only=True)
    merged_into = fields.UUID(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    identities = fields.List(fields.Nested(IdentitySchema), dump_only=True)


class ContactListArgsSchema(Schema):
    """Contact search and paging."""

    q = fields.String(validate=_SHORT)
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))
    cursor = fields.String(validate=validate.Length(max=300))


class ContactPageSchema(Schema):
    """One page of contacts."""

    items = fields.List(fields.Nested(ContactSchema), dump_only=True)
    next_cursor = fields.String(dump_only=True, allow_none=True)


class ContactChangeSchema(Schema):
    """What an agent may edit about a contact."""

    display_name = fields.String(validate=_SHORT)
    notes = fields.String(validate=validate.Length(max=20_000))


class TimelineArgsSchema(Schema):
    """Paging of a contact's timeline."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.Integer(validate=validate.Range(min=1), metadata={"description": "a seq"})


class TimelineSchema(Schema):
    """A contact's messages across every channel, newest first."""

    items = fields.List(fields.Nested(MessageSchema), dump_only=True)
    next_before = fields.Integer(dump_only=True, allow_none=True)


class ContactMergeSchema(Schema):
    """A contact merge; undo it by its id."""

    id = fields.UUID(dump_only=True)
    source_id = fields.UUID(dump_only=True)
    target_id = fields.UUID(dump_only=True)
    merged_at = fields.DateTime(dump_only=True)
    undone_at = fields.DateTime(dump_only=True, allow_none=True)


class CannedResponseSchema(Schema):
    """A canned response; `{{customer.name}}` and `{{agent.name}}` are filled in."""

    id = fields.UUID(dump_only=True)
    shortcut = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_-]{1,50}$"))
    title = fields.String(required=True, validate=_SHORT)
    body = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    created_at = fields.DateTime(dump_only=True)


class CannedChangeSchema(Schema):
    """Edit a canned response."""

    shortcut = fields.String(validate=validate.Regexp(r"^[a-z0-9_-]{1,50}$"))
    title = fields.String(validate=_SHORT)
    body = fields.String(validate=validate.Length(min=1, max=20_000))


class RenderArgsSchema(Schema):
    """The conversation a canned response is filled in for."""

    conversation_id = fields.UUID(required=True)


class RenderedSchema(Schema):
    """A canned response's text for one conversation."""

    text = fields.String(dump_only=True)
