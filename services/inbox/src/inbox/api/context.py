"""What a view needs from the request: the database, the signed-in agent, the trace id."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import current_app, g, request
from flask_smorest import abort

from inbox.config import InboxSettings


def settings() -> InboxSettings:
    """The app's settings."""
    return current_app.extensions["inbox.settings"]


@contextmanager
def transaction() -> Iterator[psycopg.Connection]:
    """A pooled connection inside a transaction, committed if the view succeeds."""
    pool = current_app.extensions["inbox.pool"]
    with pool.connection() as connection, connection.transaction():
        yield connection


def agent() -> dict:
    """The signed-in agent (set by the authentication hook)."""
    return g.agent


def trace_id() -> str:
    """The caller's trace id (X-Trace-Id), or a new one: it follows the reply to the notifier."""
    supplied = request.headers.get("X-Trace-Id", "")
    return supplied[:64] if supplied.isalnum() else uuid.uuid4().hex


def encode_cursor(*parts: object) -> str:
    """An opaque cursor for keyset pagination."""
    text = "\x1f".join(p.isoformat() if hasattr(p, "isoformat") else str(p) for p in parts)
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, count: int) -> list[str]:
    """The parts of a cursor; 400 if it is not one of ours."""
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("\x1f")
    except (ValueError, UnicodeDecodeError):
        abort(400, message="malformed cursor")
    if len(parts) != count:
        abort(400, message="malformed cursor")
    return parts


def decode_keyset(cursor: str, parse_first) -> tuple:
    """A (value, id) keyset cursor, the value parsed by `parse_first`; 400 if malformed."""
    first, second = decode_cursor(cursor, 2)
    try:
        return parse_first(first), str(uuid.UUID(second))
    except ValueError:
        abort(400, message="malformed cursor")


def found(row: dict | None, what: str) -> dict:
    """`row`, or a 404 naming what was not found."""
    if row is None:
        abort(404, message=f"no such {what}")
    return row
