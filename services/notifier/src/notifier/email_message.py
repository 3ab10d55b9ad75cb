"""Build the MIME message of an email reply (channels.md 4.2, 4.3; RFC 5322 3.6.4, RFC 3834).

    From         the agent's display name at the support address
    To, Cc       as the inbox addressed the reply
    Reply-To     the conversation's plus-address (its token threads the answer back)
    Subject      `Re: <subject>` once
    Message-ID   the one the inbox assigned (stored with the reply, matched on the way back)
    In-Reply-To  the customer's message; References: the parent's chain, then the parent
    body         text and HTML alternatives; inline images beside the HTML; files attached

A person's reply asks auto-responders to stay quiet (`X-Auto-Response-Suppress: OOF,
AutoReply`) and is not marked automatic; an automatic one carries `Auto-Submitted:
auto-replied`, `Precedence: bulk`, `X-Auto-Response-Suppress: All` and our `X-Loop`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from notifier.delivery_errors import PermanentFailure

# Headers fold only past RFC 5322's hard limit: a folded Message-ID or In-Reply-To trips up
# some parsers, and a long References chain still folds between ids (as Chatwoot does).
POLICY = SMTP.clone(max_line_length=998)
_RE_PREFIX = re.compile(r"^\s*re\s*:", re.IGNORECASE)
_MSG_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class File:
    """An attachment's bytes and how to present them."""

    data: bytes
    filename: str | None
    content_type: str
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class Envelope:
    """What SMTP needs besides the message: MAIL FROM and every RCPT TO."""

    sender: str
    recipients: tuple[str, ...]


def build_message(
    reply: dict, now: datetime, load_file: Callable[[dict], File]
) -> tuple[EmailMessage, Envelope]:
    """The MIME message and SMTP envelope for an email `reply.requested` payload."""
    envelope = reply.get("email")
    if not envelope:
        raise PermanentFailure("an email reply needs its envelope (email: message_id, to, ...)")
    message = EmailMessage(policy=POLICY)
    sender = envelope["sender"]
    message["From"] = _address(sender["email"], from_name(reply))
    message["To"] = [_address(a["email"], a.get("display_name")) for a in envelope["to"]]
    if envelope.get("cc"):
        message["Cc"] = [_address(a["email"], a.get("display_name")) for a in envelope["cc"]]
    if envelope.get("reply_to"):
        reply_to = envelope["reply_to"]
        message["Reply-To"] = _address(reply_to["email"], reply_to.get("display_name"))
    message["Subject"] = subject(reply.get("subject"), bool(envelope.get("in_reply_to")))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msg_id(envelope["message_id"])
    parent = envelope.get("in_reply_to")
    if parent:
        message["In-Reply-To"] = msg_id(parent)
    chain = references(envelope.get("references") or [], parent)
    if chain:
        message["References"] = " ".join(chain)
    message["MIME-Version"] = "1.0"
    for name, value in loop_headers(reply.get("automatic", False), sender["email"]):
        message[name] = value
    _add_body(message, reply, [load_file(a) for a in reply.get("attachments") or []])
    recipients = tuple(
        dict.fromkeys(a["email"] for a in [*envelope["to"], *(envelope.get("cc") or [])])
    )
    return message, Envelope(sender["email"], recipients)


def from_name(reply: dict) -> str | None:
    """`Agent (Support name)`, or whichever of the two is known."""
    agent = (reply.get("agent") or {}).get("display_name")
    team = (reply.get("email") or {}).get("sender", {}).get("display_name")
    if agent and team and not reply.get("automatic"):
        return f"{agent} ({team})"
    return team or agent


def subject(original: str | None, is_reply: bool) -> str:
    """`Re: ` once before the conversation's subject (RFC 5322 3.6.5)."""
    text = " ".join((original or "").split())
    if not is_reply:
        return text
    if _RE_PREFIX.match(text):
        return text
    return f"Re: {text}" if text else "Re: your message"


def msg_id(value: str) -> str:
    """A msg-id in angle brackets (the inbox may store it bare)."""
    value = value.strip()
    if not value:
        raise PermanentFailure("an empty Message-ID cannot be sent")
    return value if value.startswith("<") else f"<{value}>"


def references(chain: list[str], parent: str | None) -> list[str]:
    """The parent's References followed by the parent's id, each once, in order (3.6.4)."""
    ids: list[str] = []
    for item in chain:
        ids.extend(_MSG_ID.findall(item) or ([msg_id(item)] if item.strip() else []))
    last = msg_id(parent) if parent else None
    result: list[str] = []
    seen: set[str] = set()
    for item in ids:
        key = item.lower()
        # The parent goes last even if the chain already named it earlier.
        if key in seen or (last and key == last.lower()):
            continue
        seen.add(key)
        result.append(item)
    return [*result, last] if last else result


def loop_headers(automatic: bool, support_address: str) -> list[tuple[str, str]]:
    """Headers that keep auto-responders from answering (and our own mail from looping)."""
    if not automatic:
        return [("X-Auto-Response-Suppress", "OOF, AutoReply")]
    return [
        ("Auto-Submitted", "auto-replied"),
        ("Precedence", "bulk"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Loop", support_address),
    ]


def _address(email: str, display_name: str | None) -> Address:
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise PermanentFailure(f"{email!r} is not an email address")
    return Address(display_name=display_name or "", username=local, domain=domain)


def _add_body(message: EmailMessage, reply: dict, files: list[File]) -> None:
    message.set_content(reply["text"], subtype="plain", cte="quoted-printable")
    html = reply.get("html")
    if html:
        message.add_alternative(html, subtype="html", cte="quoted-printable")
        html_part = message.get_payload()[-1]
        for file in files:
            if file.inline and file.content_id:
                maintype, subtype = _mime_type(file.content_type)
                html_part.add_related(
                    file.data,
                    maintype,
                    subtype,
                    cid=msg_id(file.content_id),
                    filename=file.filename,
                    disposition="inline",
                )
    for file in files:
        if html and file.inline and file.content_id:
            continue
        maintype, subtype = _mime_type(file.content_type)
        message.add_attachment(file.data, maintype, subtype, filename=file.filename or "attachment")


def _mime_type(content_type: str) -> tuple[str, str]:
    maintype, _, subtype = (content_type or "").partition("/")
    if not maintype or not subtype:
        return "application", "octet-stream"
    return maintype.lower(), subtype.split(";")[0].strip().lower()
