"""The API channel: any source (a web form, a chat widget, an app) posting documented JSON.

The format is specified in the README's "The API channel" section; the schemas below are
that specification.
"""

from __future__ import annotations

import json
from datetime import datetime

import nh3
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from social_ingest.accounts import ApiSource
from social_ingest.normalize.payload import message, party
from social_ingest.normalize.result import Body, Context, MediaRef, Normalized, start

MAX_MESSAGES = 100
MAX_ATTACHMENTS = 10


def _optional(max_length: int) -> fields.String:
    return fields.String(
        allow_none=True, load_default=None, validate=validate.Length(min=1, max=max_length)
    )


class ApiAuthorSchema(Schema):
    """Who wrote the message, as the source knows them."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=256))
    name = _optional(256)
    handle = _optional(256)
    email = fields.Email(allow_none=True, load_default=None)


class ApiThreadSchema(Schema):
    """Where the message belongs: the source's conversation and the message it answers."""

    root_id = _optional(256)
    parent_id = _optional(256)


class ApiAttachmentSchema(Schema):
    """A file to fetch from one of the source's configured media hosts."""

    url = fields.Url(required=True, schemes={"https", "http"})
    filename = _optional(255)
    content_type = _optional(255)


class ApiMessageSchema(Schema):
    """One message of the API channel (unknown keys are rejected)."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=256))
    author = fields.Nested(ApiAuthorSchema, required=True)
    text = fields.String(required=True, validate=validate.Length(max=100_000))
    html = _optional(500_000)
    subject = _optional(998)
    visibility = fields.String(
        load_default="private", validate=validate.OneOf(["private", "public"])
    )
    sent_at = fields.AwareDateTime(allow_none=True, load_default=None)
    thread = fields.Nested(ApiThreadSchema, load_default=dict)
    attachments = fields.List(
        fields.Nested(ApiAttachmentSchema),
        load_default=list,
        validate=validate.Length(max=MAX_ATTACHMENTS),
    )
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), load_default=dict)

    @validates_schema
    def _metadata_is_small(self, data: dict, **_: object) -> None:
        if len(json.dumps(data.get("metadata", {}), default=str)) > 4096:
            raise ValidationError("metadata must serialize to at most 4096 bytes", "metadata")


class ApiBatchSchema(Schema):
    """Several messages in one request."""

    messages = fields.List(
        fields.Raw(), required=True, validate=validate.Length(min=1, max=MAX_MESSAGES)
    )


def normalize(
    body: Body,
    *,
    source: ApiSource,
    received_at: datetime,
    raw_sha256: str,
) -> Normalized:
    """Normalize one API channel request: a message object, or `{"messages": [...]}`."""
    result, data, ctx = start(body, received_at, raw_sha256)
    if data is None:
        return result
    if "messages" in data:
        try:
            items = ApiBatchSchema().load(data)["messages"]
        except ValidationError as exc:
            result.skip(f"invalid: {json.dumps(exc.messages, sort_keys=True)}", "body")
            return result
        paths = [f"messages[{i}]" for i in range(len(items))]
    else:
        items, paths = [data], ["body"]
    for item, where in zip(items, paths, strict=True):
        try:
            loaded = ApiMessageSchema().load(item)
        except ValidationError as exc:
            result.skip(f"invalid: {json.dumps(exc.messages, sort_keys=True)}", where)
            continue
        _message(loaded, where, source, ctx, result)
    return result


def _message(data: dict, where: str, source: ApiSource, ctx: Context, result: Normalized) -> None:
    author = data["author"]
    media = [
        MediaRef(url=a["url"], content_type=a["content_type"], filename=a["filename"])
        for a in data["attachments"]
    ]
    result.add_message(
        message(
            ctx,
            channel="api",
            inbox=source.name,
            external_id=data["id"],
            visibility=data["visibility"],
            author=party(author["id"], author["handle"], author["name"], author["email"]),
            text=data["text"],
            # Sources post HTML from browsers: only a sanitized copy ever reaches the bus.
            html=nh3.clean(data["html"]) if data["html"] else None,
            subject=data["subject"],
            # Without sent_at the request time is the message's time: not a defect here.
            sent_at=data["sent_at"] or ctx.received_at,
            root_id=data["thread"].get("root_id"),
            parent_id=data["thread"].get("parent_id"),
            metadata=data["metadata"],
        ),
        media,
        where,
    )
