"""Delivery failure reports: RFC 3464 DSNs and the common free-text bounces of mail servers."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser

from email_ingest.headers import message_ids
from email_ingest.mime_params import content_type, param
from email_ingest.raw_parts import stored_payload

_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery status notification \(fail|delivery (?:has )?failed|"
    r"mail delivery failed|returned mail|failure notice|delivery failure|could not be delivered|"
    r"message not delivered|non remis|non recapitabile|unzustellbar|nicht zugestellt|"
    r"zustellung fehlgeschlagen|onbestelbaar|no se pudo entregar|devolución de correo",
    re.I,
)
_STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]")
_ANGLE_ADDRESS = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>")
_BARE_ADDRESS = re.compile(r"\b([\w.+-]+@[\w-]+(?:\.[\w-]+)+)\b")
_ORIGINAL_ID = re.compile(r"^message-id:\s*(<[^>\n]+>)", re.I | re.M)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class BounceReport:
    """What a bounce says about the message it returns."""

    original_message_id: str | None = None
    recipient: str | None = None
    action: str | None = None
    status: str | None = None
    diagnostic: str | None = None

    def as_payload(self) -> dict:
        """Return the `bounce` object of message.received."""
        return asdict(self)


def detect_bounce(
    msg: Message, sender: str | None, subject: str | None, text: str, own_id: str | None
) -> BounceReport | None:
    """Return the report if this mail is a delivery failure notice, else None."""
    status_part = _find_part(msg, ("message/delivery-status", "message/global-delivery-status"))
    report_type = str(param(msg, "report-type") or "").lower()
    if status_part is not None and (report_type == "delivery-status" or _from_daemon(sender)):
        report = _from_dsn(status_part)
    elif (
        _from_daemon(sender)
        and (_BOUNCE_SUBJECT.search(subject or "") or _STATUS_CODE.search(text))
    ) or (
        _BOUNCE_SUBJECT.search(subject or "") and str(msg.get("Return-Path", "")).strip() == "<>"
    ):
        report = _from_text(text)
    else:
        return None
    return BounceReport(
        original_message_id=_original_message_id(msg, text, own_id),
        recipient=report.recipient,
        action=report.action,
        status=report.status,
        diagnostic=report.diagnostic,
    )


def _from_daemon(sender: str | None) -> bool:
    local = (sender or "").split("@")[0].lower()
    return local in _DAEMON_LOCALPARTS


def _find_part(msg: Message, types: tuple[str, ...]) -> Message | None:
    for part in msg.walk():
        if content_type(part) in types:
            return part
    return None


def _dsn_blocks(part: Message) -> list[Message]:
    payload = stored_payload(part)
    if isinstance(payload, list):
        return payload
    data = part.get_payload(decode=True) or b""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return [HeaderParser().parsestr(block) for block in re.split(r"\n\s*\n", text) if block]


def _from_dsn(part: Message) -> BounceReport:
    recipients = [b for b in _dsn_blocks(part)[1:] if b.get("Action") or b.get("Final-Recipient")]
    if not recipients:
        return BounceReport(action="failed")
    chosen = next((b for b in recipients if _clean(b.get("Action")) == "failed"), recipients[0])
    recipient = _after_type(chosen.get("Final-Recipient")) or _after_type(
        chosen.get("Original-Recipient")
    )
    return BounceReport(
        recipient=recipient,
        action=(_clean(chosen.get("Action")) or "").lower() or None,
        status=_clean(chosen.get("Status")),
        diagnostic=_after_type(chosen.get("Diagnostic-Code")),
    )


def _from_text(text: str) -> BounceReport:
    status_match = _STATUS_CODE.search(text)
    status = status_match.group(1) if status_match else None
    diagnostic = None
    for line in text.splitlines():
        if (status and status in line) or _SMTP_REPLY.search(line):
            diagnostic = _clean(line)
            break
    recipient_match = _ANGLE_ADDRESS.search(text) or _BARE_ADDRESS.search(text)
    if status is None and diagnostic is not None:
        code = _SMTP_REPLY.search(diagnostic)
        status = f"{code.group(1)[0]}.0.0" if code else None
    action = "delayed" if status and status.startswith("4") else "failed"
    return BounceReport(
        recipient=recipient_match.group(1) if recipient_match else None,
        action=action,
        status=status,
        diagnostic=diagnostic[:500] if diagnostic else None,
    )


def _original_message_id(msg: Message, text: str, own_id: str | None) -> str | None:
    for part in msg.walk():
        part_type = content_type(part)
        headers: Message | None = None
        if part_type in ("message/rfc822", "message/global"):
            payload = stored_payload(part)
            if isinstance(payload, list) and payload:
                headers = payload[0]
        elif part_type == "text/rfc822-headers":
            data = part.get_payload(decode=True) or b""
            headers = BytesParser(policy=policy.compat32).parsebytes(data, headersonly=True)
        if headers is not None:
            ids = message_ids(str(headers.get("Message-ID", "")))
            if ids:
                return ids[0]
    for match in _ORIGINAL_ID.finditer(text):
        if match.group(1) != own_id:
            return "".join(match.group(1).split())
    return None


def _clean(value: object) -> str | None:
    if value is None:
        return None
    cleaned = _WS.sub(" ", str(value)).strip()
    return cleaned or None


def _after_type(value: object) -> str | None:
    """`rfc822; a@b` -> `a@b`, `smtp; 550 ...` -> `550 ...` (RFC 3464 typed fields)."""
    cleaned = _clean(value)
    if cleaned is None:
        return None
    _, sep, rest = cleaned.partition(";")
    return (rest.strip() if sep else cleaned) or None
