"""Builders of small test mails: headers, MIME parts and multiparts made to order."""

from __future__ import annotations

from datetime import UTC, datetime

from email_ingest import ParsedEmail, parse_email
from switchboard_shared.schemas import MESSAGE_RECEIVED

RECEIVED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def build_mail(
    body: bytes | str = "Hello, my order has not arrived.\n",
    *,
    headers: dict[str, str] | None = None,
    content_type: str = "text/plain; charset=utf-8",
    extra: bytes = b"",
) -> bytes:
    """A minimal RFC 5322 mail; `headers` override or (with value None) drop the defaults."""
    fields = {
        "From": "Jane Customer <jane@example.org>",
        "To": "Support <support@example.com>",
        "Subject": "Where is my order?",
        "Date": "Tue, 20 Feb 2024 10:00:00 +0100",
        "Message-ID": "<order-1@example.org>",
        "MIME-Version": "1.0",
        "Content-Type": content_type,
    }
    fields.update(headers or {})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value is not None)
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head.encode("utf-8") + extra + b"\r\n" + data


def multipart(subtype: str, *parts: bytes, boundary: str = "BOUNDARY") -> tuple[str, bytes]:
    """Return (Content-Type, body) of a multipart made of already-built parts."""
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return f'multipart/{subtype}; boundary="{boundary}"', body + f"--{boundary}--\r\n".encode()


def part(content_type: str, body: bytes, **headers: str) -> bytes:
    """One MIME part with its headers."""
    lines = [f"Content-Type: {content_type}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_built(raw: bytes, received_at: datetime = RECEIVED) -> ParsedEmail:
    """Parse and validate against the bus schema."""
    parsed = parse_email(raw, inbox="support@example.com", received_at=received_at)
    MESSAGE_RECEIVED.validate(parsed.payload)
    return parsed
