"""Walk the MIME tree: pick the text and HTML bodies, collect every attachment's bytes."""

from __future__ import annotations

import binascii
import logging
import mimetypes
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

from email_ingest import mime_params
from email_ingest.charsets import decode_bytes
from email_ingest.headers import HeaderDecoder
from email_ingest.raw_parts import locate_raw_bodies, stored_payload
from email_ingest.uuencode import extract_uuencoded

logger = logging.getLogger(__name__)

MAX_DEPTH = 30
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.+-]+)""", re.I)
_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,200}?)(--)?[ \t\r]*$", re.M)
_LOOKS_HTML = re.compile(r"^\s*<(!doctype|html|head|body|div|p|table)\b", re.I)
_BASE64_ALPHABET = string.ascii_letters.encode() + string.digits.encode() + b"+/="
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET)  # translate deletes these
_BAD_FILENAME_CHARS = re.compile(r'[\\/\x00-\x1f"<>|:*?]+')


@dataclass
class RawAttachment:
    """An attachment's bytes and what its headers say about it."""

    filename: str | None
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass
class Bodies:
    """What a message shows: its first text and HTML bodies and its attachments."""

    text: str | None = None
    html: str | None = None
    attachments: list[RawAttachment] = field(default_factory=list)


class BodyCollector:
    """Collect the bodies and attachments of one parsed message."""

    def __init__(
        self, msg: Message, raw: bytes, headers: HeaderDecoder, defects: list[str]
    ) -> None:
        self.msg = msg
        self.headers = headers
        self.defects = defects
        self.raw = raw
        self._raw_bodies: dict[int, bytes] | None = None
        self.bodies = Bodies()
        self.messages: list[Message] = []

    @property
    def raw_bodies(self) -> dict[int, bytes]:
        """Each part's source body bytes by `id(part)`, located on first use: leaves never ask."""
        if self._raw_bodies is None:
            self._raw_bodies = locate_raw_bodies(self.raw, self.msg)
        return self._raw_bodies

    def collect(self) -> Bodies:
        """Walk the whole tree once and return what it holds."""
        self._visit(self.msg, 0, in_alternative=False)
        if self.bodies.text is None and self.bodies.html is None and len(self.messages) == 1:
            # A mail that only wraps another mail (forwarded as attachment, list digests of
            # one): show the wrapped mail's body rather than nothing.
            inner = BodyCollector(self.messages[0], b"", self.headers, self.defects)
            inner._visit(self.messages[0], 1, in_alternative=False)
            self.bodies.text, self.bodies.html = inner.bodies.text, inner.bodies.html
        return self.bodies

    def _visit(self, part: Message, depth: int, in_alternative: bool) -> None:
        if depth > MAX_DEPTH:
            self.defects.append(f"MIME nesting deeper than {MAX_DEPTH} levels ignored")
            return
        payload = stored_payload(part)
        content_type = mime_params.content_type(part)
        maintype = content_type.partition("/")[0]
        if maintype == "multipart":
            if isinstance(payload, list):
                alternative = content_type == "multipart/alternative"
                for child in payload:
                    self._visit(child, depth + 1, in_alternative or alternative)
                return
            repaired = self._repair_multipart(part)
            if repaired is not None:
                self._visit(repaired, depth + 1, in_alternative)
                return
            self._text_leaf(part, _looks_html(part), in_alternative)
            return
        if isinstance(payload, list):
            self._attach_message(part, payload)
            return
        try:
            self._leaf(part, in_alternative)
        except Exception as exc:
            logger.debug("unreadable MIME part", exc_info=True)
            self.defects.append(f"unreadable {part.get_content_type()} part: {exc!r}"[:300])

    def _leaf(self, part: Message, in_alternative: bool) -> None:
        content_type = mime_params.content_type(part)
        filename = self._filename(part)
        disposition = (part.get_content_disposition() or "").lower()
        if (
            content_type in ("text/plain", "text/html")
            and filename is None
            and disposition != "attachment"
        ):
            slot = "html" if content_type == "text/html" else "text"
            if getattr(self.bodies, slot) is None:
                self._text_leaf(part, slot == "html", in_alternative)
                return
            if in_alternative:
                return  # another rendering of a body we already have
        data = _payload_bytes(part)
        self._add_attachment(part, filename, content_type, data, disposition)

    def _text_leaf(self, part: Message, is_html: bool, in_alternative: bool) -> None:
        data = _payload_bytes(part)
        charset = mime_params.content_charset(part)
        if charset is None and is_html:
            match = _META_CHARSET.search(data[:4096])
            charset = match.group(1).decode("ascii") if match else None
        where = "html body" if is_html else "text body"
        text = decode_bytes(data, charset, self.defects, where, self.headers.hints)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not is_html and str(mime_params.param(part, "format") or "").lower() == "flowed":
            delsp = str(mime_params.param(part, "delsp") or "").lower() == "yes"
            text = unflow(text, delete_space=delsp)
        if is_html:
            if self.bodies.html is None:
                self.bodies.html = text
            return
        text, files = extract_uuencoded(text)
        for name, content in files:
            self._add_attachment(part, name, _guess_type(name), content, "attachment")
        if self.bodies.text is None:
            self.bodies.text = text

    def _attach_message(self, part: Message, payload: list[Message]) -> None:
        content_type = mime_params.content_type(part)
        data = self.raw_bodies.get(id(part))
        if data is None:
            data = b"".join(_generate(m) for m in payload)
        if content_type in ("message/rfc822", "message/global") and payload:
            self.messages.append(payload[0])
        filename = self._filename(part)
        if filename is None and content_type in ("message/rfc822", "message/global") and payload:
            subject = self.headers.decoded(payload[0], "Subject") or "message"
            filename = _BAD_FILENAME_CHARS.sub(" ", subject).strip()[:200] + ".eml"
        disposition = (part.get_content_disposition() or "").lower()
        self._add_attachment(part, filename, content_type, data, disposition)

    def _add_attachment(
        self, part: Message, filename: str | None, content_type: str, data: bytes, disp: str
    ) -> None:
        content_id = part.get("Content-ID")
        cid = "".join(str(content_id).split()).strip("<>") or None if content_id else None
        self.bodies.attachments.append(
            RawAttachment(
                filename, content_type, data, cid, inline=bool(cid and disp != "attachment")
            )
        )

    def _filename(self, part: Message) -> str | None:
        try:
            name = mime_params.filename(part) or mime_params.param(part, "name")
        except Exception:
            self.defects.append("unreadable attachment file name")
            return None
        if isinstance(name, tuple):
            name = name[2]
        if not name:
            return None
        name = self.headers.decode_words(self.headers.text_of(str(name), "filename"), "filename")
        return name.strip() or None

    def _repair_multipart(self, part: Message) -> Message | None:
        """Re-split a multipart whose boundary is missing or wrong, guessing it from the body."""
        body = stored_payload(part)
        if not isinstance(body, str):
            return None
        candidates = Counter(m.group(1) for m in _BOUNDARY_LINE.finditer(body))
        boundary = next((b for b, n in candidates.most_common(3) if n >= 2), None)
        if boundary is None:
            self.defects.append(f"{part.get_content_type()} without usable boundary, read as text")
            return None
        self.defects.append(f"{part.get_content_type()}: boundary missing or wrong, guessed")
        content_type = part.get_content_type()
        if not content_type.isascii():
            content_type = "multipart/mixed"
        header = f'Content-Type: {content_type}; boundary="{boundary}"\n\n'
        rebuilt = header.encode("utf-8") + body.encode("utf-8", "surrogateescape")
        repaired = BytesParser(policy=policy.compat32).parsebytes(rebuilt)
        self.raw_bodies.update(locate_raw_bodies(rebuilt, repaired))
        return repaired


def _payload_bytes(part: Message) -> bytes:
    payload = stored_payload(part)
    if isinstance(payload, str) and str(
        part.get("Content-Transfer-Encoding", "")
    ).strip().lower() == ("base64"):
        return decode_base64(payload.encode("ascii", "surrogateescape"))
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    return payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""


def decode_base64(data: bytes) -> bytes:
    """Decode base64 leniently: skip junk characters, ignore a dangling last character."""
    cleaned = data.translate(None, _NOT_BASE64)  # one C pass; a pattern's sub is far slower
    try:
        return binascii.a2b_base64(cleaned)
    except binascii.Error:
        bare = cleaned.replace(b"=", b"")
        bare = bare[: len(bare) - 1] if len(bare) % 4 == 1 else bare
        return binascii.a2b_base64(bare + b"=" * (-len(bare) % 4))


def unflow(text: str, *, delete_space: bool = False) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676 4.2), keeping quote depth."""
    out: list[str] = []
    joining_depth = -1  # quote depth of an unfinished flowed line, -1 if none
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delete_space:
            content = content[:-1]
        if depth == joining_depth and out:
            out[-1] += content
        else:
            out.append(">" * depth + (" " if depth and content else "") + content)
        joining_depth = depth if flowed else -1
    return "\n".join(out)


def _looks_html(part: Message) -> bool:
    payload = stored_payload(part)
    return isinstance(payload, str) and _LOOKS_HTML.match(payload) is not None


def _generate(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=policy.compat32.clone(max_line_length=0))
    except Exception:
        logger.debug("could not regenerate message part", exc_info=True)
        return b""


def _guess_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"
