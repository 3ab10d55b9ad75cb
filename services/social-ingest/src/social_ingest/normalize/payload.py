"""Build `message.received/1` and `delivery.status/1` payloads from provider values."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from social_ingest.normalize.result import Context

# Unix times above this are milliseconds (Meta `timestamp`, X `timestamp_ms`); below, seconds.
# 1e11 seconds is the year 5138, 1e11 milliseconds is 1973: no real date is ambiguous.
_MS_THRESHOLD = 100_000_000_000
_DIGITS = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
NO_TIMESTAMP = "no provider timestamp: sent_at is the time we received it"


def as_id(value: Any) -> str | None:
    """Return an id as a string; floats are refused (ids past 2**53 lost digits already)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def obj(value: Any) -> dict:
    """Return `value` if it is a JSON object, else an empty one (a missing optional part)."""
    return value if isinstance(value, dict) else {}


def text_of(value: Any) -> str | None:
    """Return a non-empty string value, or None."""
    return value if isinstance(value, str) and value != "" else None


def provider_time(value: Any) -> datetime | None:
    """Parse a provider timestamp: Unix s or ms (number or string), ISO 8601, or RFC 2822."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and _DIGITS.match(value)):
            number = float(value)
            if number > _MS_THRESHOLD:
                number /= 1000
            return datetime.fromtimestamp(number, tz=UTC)
        if isinstance(value, str):
            return _parse_text_time(value)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _parse_text_time(value: str) -> datetime | None:
    try:
        # Python 3.11 parses `+0000` and `Z` offsets (Meta writes 2021-09-08T06:34:04+0000).
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            # X's v1.1 `created_at` ("Fri Sep 18 18:36:15 +0000 2020") is not RFC 2822 either;
            # move the year before the time so the RFC parser accepts it.
            parts = value.split()
            if len(parts) == 6 and ":" in parts[3]:
                value = " ".join([parts[0] + ",", parts[2], parts[1], parts[5], parts[3], parts[4]])
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo else None


def first_time(*values: Any) -> datetime | None:
    """Return the first value that parses as a provider time."""
    for value in values:
        parsed = provider_time(value)
        if parsed is not None:
            return parsed
    return None


def derived_id(*parts: Any) -> str:
    """Return a stable id from content when the provider gave none (as email does without
    a Message-ID): a redelivery of the same event derives the same id."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode())
    return "sha256:" + digest.hexdigest()[:32]


def party(
    external_id: str,
    handle: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> dict:
    """Return an author/recipient: `{external_id, handle, display_name, email}`."""
    return {
        "external_id": external_id,
        "handle": handle or None,
        "display_name": display_name or None,
        "email": email or None,
    }


def message(
    ctx: Context,
    *,
    channel: str,
    inbox: str,
    external_id: str,
    visibility: str,
    author: dict,
    text: str,
    sent_at: datetime | None,
    recipient: dict | None = None,
    root_id: str | None = None,
    parent_id: str | None = None,
    subject: str | None = None,
    html: str | None = None,
    echo: bool = False,
    metadata: Mapping[str, Any] | None = None,
    defects: Iterable[str] = (),
) -> dict:
    """Return a `message.received/1` payload; a missing `sent_at` falls back to receipt time."""
    defects = list(defects)
    if sent_at is None:
        defects.append(NO_TIMESTAMP)
    return {
        "channel": channel,
        "inbox": inbox,
        "external_id": external_id,
        "visibility": visibility,
        "author": author,
        "recipient": recipient,
        # Email's addressees: empty here, and spelled out so validation need not build them.
        "recipients": {"to": [], "cc": [], "reply_to": []},
        "thread": {
            "in_reply_to": None,
            "references": [],
            "root_id": root_id,
            "parent_id": parent_id,
        },
        "subject": subject,
        "text": text,
        "html": html,
        "attachments": [],
        "sent_at": sent_at or ctx.received_at,
        "received_at": ctx.received_at,
        "raw_sha256": ctx.raw_sha256,
        "flags": {"auto_submitted": False, "bounce": False, "echo": echo},
        "defects": defects,
        # JSON null values carry nothing a reply needs; dropping them keeps metadata readable.
        "metadata": {k: v for k, v in (metadata or {}).items() if v is not None},
    }


def status(
    ctx: Context,
    *,
    channel: str,
    inbox: str,
    status: str,
    occurred_at: datetime | None,
    external_ids: Iterable[str] = (),
    recipient_id: str | None = None,
    watermark: datetime | None = None,
    reason: str | None = None,
) -> dict:
    """Return a `delivery.status/1` payload for a receipt the network sent us."""
    return {
        "channel": channel,
        "inbox": inbox,
        "status": status,
        "external_ids": [i for i in external_ids if i],
        "recipient_id": recipient_id,
        "watermark": watermark,
        "reason": reason,
        "occurred_at": occurred_at or ctx.received_at,
    }
