"""The API channel (services/social-ingest/README.md, "The API channel"): signed JSON messages."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from tests.simulators.delivery import Delivery, encode

SOURCE = "webform"
SECRET = "test_api_secret"


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def delivery(payload: dict, timestamp: int, secret: str = SECRET) -> Delivery:
    """Serialise and sign a request as a source would."""
    body = encode(payload)
    headers = {
        "Content-Type": "application/json",
        "X-Switchboard-Timestamp": str(timestamp),
        "X-Switchboard-Signature": sign(body, timestamp, secret),
    }
    return Delivery(body, headers)


def message(message_id: str, author_id: str, text: str, **fields: Any) -> dict:
    """A message object: the required fields plus any documented optional ones."""
    return {"id": message_id, "author": {"id": author_id}, "text": text, **fields}
