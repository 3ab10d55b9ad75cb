"""Field groups that several bus events share."""

from __future__ import annotations

import copy

from marshmallow import Schema, fields, validate

CHANNELS = (
    "email",
    "messenger",
    "facebook_comment",
    "instagram_dm",
    "instagram_comment",
    "x_mention",
    "x_dm",
    "whatsapp",
    "telegram",
    "api",
)
VISIBILITIES = ("public", "private")
SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="not a lower-case hex sha256")


def optional_string(**kwargs) -> fields.String:
    """A string that may be absent or null (loaded as None)."""
    return fields.String(allow_none=True, load_default=None, **kwargs)


def nested_with_defaults(schema: type[Schema]) -> fields.Nested:
    """A nested object that, when absent, loads as the schema's own defaults (not `{}`).

    The defaults are loaded once and copied per use: building a schema for every absent
    object was half the cost of loading a message on the inbox worker's hot path.
    """
    defaults = schema().load({})
    return fields.Nested(schema, load_default=lambda: fresh_copy(defaults))


def fresh_copy(value: object) -> object:
    """Copy `value` as `copy.deepcopy` would, but quickly for plain dicts, lists and scalars.

    `copy.deepcopy` was most of the cost of loading a message without recipients or flags.
    """
    kind = type(value)
    if kind is dict:
        return {key: fresh_copy(item) for key, item in value.items()}
    if kind is list:
        return [fresh_copy(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


class PartySchema(Schema):
    """A person or account as a channel knows them: whoever wrote or receives a message."""

    external_id = fields.String(required=True, validate=validate.Length(min=1))
    handle = optional_string()
    display_name = optional_string()
    email = fields.Email(allow_none=True, load_default=None)


class AddressSchema(Schema):
    """An email address with its display name."""

    email = fields.String(required=True, validate=validate.Length(min=1))
    display_name = optional_string()


class AttachmentSchema(Schema):
    """A file: its bytes live in the blob store under `sha256`, never on the bus.

    `sha256` is null only when the file could not be fetched; `unavailable_reason` says why.
    """

    filename = optional_string()
    content_type = fields.String(load_default="application/octet-stream")
    size = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    sha256 = fields.String(allow_none=True, load_default=None, validate=SHA256)
    content_id = optional_string()
    inline = fields.Boolean(load_default=False)
    unavailable_reason = optional_string()


class ThreadSchema(Schema):
    """Where a message sits: email headers, or the post and parent comment of a comment."""

    in_reply_to = optional_string()
    references = fields.List(fields.String(), load_default=list)
    root_id = optional_string()
    parent_id = optional_string()
