"""What each inbound email provider sends, reduced to (raw MIME bytes, recipient).

Pure functions: no Flask. Credentials are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from email_ingest.errors import NotEmailError


class BadCredential(Exception):
    """The request is not from the provider it claims (401)."""


def same_secret(given: str | bytes | None, expected: str) -> bool:
    """Compare a presented secret with the configured one in constant time."""
    if given is None:
        return False
    if isinstance(given, str):
        given = given.encode()
    return hmac.compare_digest(given, expected.encode())


def verify_mailgun(
    signing_key: str,
    timestamp: str,
    token: str,
    signature: str,
    max_age: int,
    now: float | None = None,
) -> None:
    """Check Mailgun's HMAC-SHA256 of timestamp+token and the timestamp's age."""
    expected = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    if not same_secret(signature or "", expected.hexdigest()):
        raise BadCredential("Mailgun signature does not match")
    try:
        age = (now if now is not None else time.time()) - int(timestamp)
    except ValueError:
        raise BadCredential("Mailgun timestamp is not a number") from None
    if abs(age) > max_age:
        raise BadCredential(f"Mailgun timestamp is {int(age)}s old (limit {max_age}s)")


def sendgrid_recipient(envelope: str | None) -> str | None:
    """The first envelope recipient of a SendGrid Inbound Parse post."""
    try:
        recipients = json.loads(envelope or "{}").get("to") or []
    except (ValueError, AttributeError):
        return None
    return recipients[0] if recipients else None


def postmark_to_mime(payload: dict) -> tuple[bytes, str | None]:
    """Postmark's inbound JSON as raw MIME (RawEmail when sent, else rebuilt) and recipient."""
    if not isinstance(payload, dict):
        raise NotEmailError("Postmark payload is not a JSON object")
    recipient = payload.get("OriginalRecipient") or None
    raw = payload.get("RawEmail")
    if isinstance(raw, str) and raw.strip():
        return raw.encode("utf-8", "surrogateescape"), recipient
    if not (payload.get("From") or payload.get("FromFull")):
        raise NotEmailError("Postmark payload has neither RawEmail nor From")
    return _rebuild(payload).as_bytes(policy=SMTP), recipient


_BODY_HEADERS = {"content-type", "content-transfer-encoding", "mime-version"}


def _rebuild(payload: dict) -> EmailMessage:
    message = EmailMessage()
    sender = payload.get("FromFull") or {}
    message["From"] = formataddr(
        (
            sender.get("Name") or payload.get("FromName") or "",
            sender.get("Email") or payload.get("From") or "",
        )
    )
    for field in ("To", "Cc", "ReplyTo", "Subject", "Date"):
        value = payload.get(field)
        if value:
            message["Reply-To" if field == "ReplyTo" else field] = value
    seen = {name.lower() for name in message}
    for header in payload.get("Headers") or []:
        name, value = header.get("Name"), header.get("Value")
        if name and value is not None and name.lower() not in seen | _BODY_HEADERS:
            message[name] = value
    message.set_content(payload.get("TextBody") or "")
    if payload.get("HtmlBody"):
        message.add_alternative(payload["HtmlBody"], subtype="html")
    for attachment in payload.get("Attachments") or []:
        try:
            data = base64.b64decode(attachment.get("Content") or "", validate=False)
        except (binascii.Error, ValueError):
            continue  # a broken attachment must not cost the customer's message
        maintype, _, subtype = (
            attachment.get("ContentType") or "application/octet-stream"
        ).partition("/")
        message.add_attachment(
            data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.get("Name") or None,
            cid=attachment.get("ContentID") or None,
        )
    return message
