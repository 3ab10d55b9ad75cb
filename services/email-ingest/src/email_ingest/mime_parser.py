"""Raw RFC 5322 bytes in, a `message.received` payload and the attachment bytes out."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesParser

from email_ingest.auto_reply import auto_submitted_reason
from email_ingest.bodies import Bodies, BodyCollector
from email_ingest.bounce import detect_bounce
from email_ingest.defects import describe_defects, scrub
from email_ingest.headers import (
    Address,
    HeaderDecoder,
    charset_hints,
    is_valid_email,
    message_ids,
    parse_date,
)
from email_ingest.html_sanitizer import sanitize_html
from email_ingest.html_text import html_to_texts
from email_ingest.participants import author, recipients
from email_ingest.reply_extraction import extract_reply
from email_ingest.screening import header_offset, repair_header_section
from email_ingest.simple_mime import simple_message
from switchboard_shared.blobstore import sha256_hex

logger = logging.getLogger(__name__)

GENERATED_ID_DOMAIN = "switchboard.generated"
# Senders' clocks are often off by hours; a Date days ahead of our clock is simply wrong.
_MAX_CLOCK_SKEW = timedelta(days=2)
_EARLIEST_DATE = datetime(1971, 1, 1, tzinfo=UTC)
_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "X-Forwarded-For", "Envelope-To")


@dataclass(frozen=True)
class ParsedEmail:
    """A normalized email: the bus payload, and attachment bytes by sha256 for the blob store."""

    payload: dict
    blobs: dict[str, bytes]


def parse_email(raw: bytes, *, inbox: str, received_at: datetime) -> ParsedEmail:
    """Normalize one raw email; raise NotEmailError only if the payload is not email at all."""
    raw = bytes(raw)
    received_at = _utc(received_at)
    offset = header_offset(raw)
    try:
        return _Normalizer(raw, offset, inbox, received_at).run()
    except Exception as exc:
        logger.exception("email parser failed; storing the message as raw text")
        return _last_resort(raw, inbox, received_at, exc)


class _Normalizer:
    def __init__(self, raw: bytes, offset: int, inbox: str, received_at: datetime) -> None:
        self.raw = raw
        self.inbox = inbox
        self.received_at = received_at
        self.defects: list[str] = []
        if offset and not raw.startswith(b"From "):
            self.defects.append("junk before the header section skipped")
        self.mime = raw[offset:]
        simple = simple_message(self.mime)
        if simple is not None:
            self.msg: Message = simple
        else:
            self.mime, repaired = repair_header_section(self.mime)
            if repaired:
                self.defects.append(
                    f"{repaired} header line(s) without a field name joined to the previous field"
                )
            self.msg = BytesParser(policy=policy.compat32).parsebytes(self.mime)
        self.headers = HeaderDecoder(self.defects, charset_hints(self.msg), self.msg)

    def run(self) -> ParsedEmail:
        msg, headers = self.msg, self.headers
        subject_raw = headers.raw(msg, "Subject")
        subject = headers.decode_words(subject_raw.strip(), "Subject") if subject_raw else None
        sender = author(msg, headers, self.defects)
        bodies = BodyCollector(msg, self.mime, headers, self.defects).collect()
        text, html_text_unquoted = _body_text(bodies)
        html, attachments, blobs = self._content(bodies)
        reply = _reply_text(text, html_text_unquoted)
        message_id = headers.raw(msg, "Message-ID")
        own_ids = message_ids(message_id)
        bounce = detect_bounce(msg, sender.email, subject, text, own_ids[0] if own_ids else None)
        reason = auto_submitted_reason(msg, headers, subject)
        if not sender.email:
            sender = Address("mailer-daemon" if bounce else "unknown-sender", sender.display_name)
        external_id = self._external_id(message_id, own_ids, sender, subject, text)
        sent_at = self._sent_at()
        payload = {
            "channel": "email",
            "inbox": self.inbox,
            "external_id": external_id,
            "visibility": "private",
            "author": _party(sender),
            "recipient": None,
            "recipients": recipients(msg, headers),
            "thread": {
                "in_reply_to": next(iter(message_ids(headers.raw(msg, "In-Reply-To"))), None),
                "references": message_ids(headers.raw(msg, "References")),
                "root_id": None,
                "parent_id": None,
            },
            "subject": subject or None,
            "text": text,
            "reply_text": reply,
            "html": html,
            "attachments": attachments,
            "sent_at": sent_at.isoformat(),
            "received_at": self.received_at.isoformat(),
            "raw_sha256": sha256_hex(self.raw),
            "flags": {
                "auto_submitted": bool(reason or bounce),
                "bounce": bounce is not None,
                "echo": False,
            },
            "bounce": bounce.as_payload() if bounce else None,
            "defects": describe_defects(msg, self.defects),
            "metadata": self._metadata(reason),
        }
        return ParsedEmail(scrub(payload), blobs)

    def _content(self, bodies: Bodies) -> tuple[str | None, list[dict], dict[str, bytes]]:
        blobs: dict[str, bytes] = {}
        attachments: list[dict] = []
        by_cid: dict[str, str] = {}
        for item in bodies.attachments:
            digest = sha256_hex(item.data)
            blobs[digest] = item.data
            if item.content_id:
                by_cid.setdefault(item.content_id.lower(), digest)
        html = None
        referenced: set[str] = set()
        if bodies.html is not None:
            sanitized = sanitize_html(bodies.html, by_cid)
            html, referenced = sanitized.html, sanitized.referenced
            for content_id in sorted(sanitized.missing):
                self.defects.append(f"inline image cid:{content_id[:80]} has no attachment")
        for item in bodies.attachments:
            cid = item.content_id.lower() if item.content_id else None
            attachments.append(
                {
                    "filename": item.filename,
                    "content_type": item.content_type,
                    "size": len(item.data),
                    "sha256": sha256_hex(item.data),
                    "content_id": item.content_id,
                    "inline": bool(cid and cid in referenced) or item.inline,
                    "unavailable_reason": None,
                }
            )
        return html, attachments, blobs

    def _external_id(
        self, value: str | None, ids: list[str], sender: Address, subject: str | None, text: str
    ) -> str:
        """The Message-ID (`ids`: those in the header `value`), else one derived from the mail."""
        if ids:
            if not re.search(r"<[^<>]+>", value or ""):
                self.defects.append("Message-ID without angle brackets")
            return ids[0]
        # The same mail must always get the same id, so no received time goes in.
        basis = "\x1f".join(
            [sender.email.lower(), str(self.msg.get("Date") or "").strip(), subject or "", text]
        )
        digest = hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.defects.append("no Message-ID; derived one from sender, date, subject and body")
        return f"<{digest}@{GENERATED_ID_DOMAIN}>"

    def _sent_at(self) -> datetime:
        value = self.headers.raw(self.msg, "Date")
        sent_at = parse_date(value)
        if sent_at is None:
            why = "missing Date" if not (value or "").strip() else f"unparseable Date {value!r:.80}"
            self.defects.append(f"{why}; using the time received")
            return self.received_at
        if sent_at > self.received_at + _MAX_CLOCK_SKEW or sent_at < _EARLIEST_DATE:
            self.defects.append(f"implausible Date {value!r:.80}; using the time received")
            return self.received_at
        return sent_at

    def _metadata(self, reason: str | None) -> dict:
        """A few headers the inbox may route or filter on; the raw mail keeps the rest."""
        metadata: dict = {}
        list_id = self.headers.decoded(self.msg, "List-Id")
        if list_id and list_id.strip():
            metadata["list_id"] = list_id.strip()[:200]
        if reason:
            metadata["auto_submitted_reason"] = reason
        # Envelope recipients carry the plus-address routing token when To does not (forwards).
        delivered: list[str] = []
        for name in _ENVELOPE_HEADERS:
            for address in self.headers.addresses(self.msg, name):
                if "@" in address.email and address.email not in delivered:
                    delivered.append(address.email)
        if delivered:
            metadata["delivered_to"] = delivered[:5]
        return metadata


def _body_text(bodies: Bodies) -> tuple[str, str | None]:
    """The message's text; and if it is the HTML body's, that body's text above the quote."""
    if bodies.text and bodies.text.strip():
        return bodies.text, None
    if bodies.html:
        return html_to_texts(bodies.html)  # one rendering for both: HTML parsing is slow
    return "", None


def _reply_text(text: str, html_text_unquoted: str | None) -> str:
    if html_text_unquoted is not None:
        return extract_reply(html_text_unquoted)  # what extract_reply_from_html does
    return extract_reply(text) if text else ""


def _party(sender: Address) -> dict:
    address = sender.email
    return {
        "external_id": address.lower(),
        "email": address if is_valid_email(address) else None,
        "display_name": sender.display_name,
        "handle": None,
    }


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _last_resort(raw: bytes, inbox: str, received_at: datetime, exc: Exception) -> ParsedEmail:
    """A payload that keeps the mail findable when normalizing failed: raw text, derived id."""
    text = raw.decode("utf-8", "replace")
    digest = sha256_hex(raw)
    payload = {
        "channel": "email",
        "inbox": inbox,
        "external_id": f"<{digest[:32]}@{GENERATED_ID_DOMAIN}>",
        "visibility": "private",
        "author": {
            "external_id": "unknown-sender",
            "email": None,
            "display_name": None,
            "handle": None,
        },
        "recipient": None,
        "recipients": {"to": [], "cc": [], "reply_to": []},
        "thread": {"in_reply_to": None, "references": [], "root_id": None, "parent_id": None},
        "subject": None,
        "text": text,
        "reply_text": None,
        "html": None,
        "attachments": [],
        "sent_at": received_at.isoformat(),
        "received_at": received_at.isoformat(),
        "raw_sha256": digest,
        "flags": {"auto_submitted": False, "bounce": False, "echo": False},
        "bounce": None,
        "defects": [f"parser failure, stored as raw text: {exc!r}"[:300]],
        "metadata": {},
    }
    return ParsedEmail(scrub(payload), {})
