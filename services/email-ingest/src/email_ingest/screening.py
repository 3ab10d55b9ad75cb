"""Screen raw payloads: reject what is not email, straighten broken header sections."""

from __future__ import annotations

import re

from email_ingest.errors import NotEmailError

# File signatures of things people (and broken integrations) hand in instead of RFC 5322 mail.
_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Outlook .msg (OLE compound) file"),
    (b"%PDF-", "a PDF file"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xef\xbb\xbf{", "JSON"),
    (b"{", "JSON"),
    (b"[", "JSON"),
    (b"<", "an HTML or XML document"),
)
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:")
# At least one of these must head the message: they are what makes a text an email.
_EMAIL_FIELDS = frozenset(
    b"from to cc bcc subject date message-id received return-path mime-version content-type "
    b"sender reply-to delivered-to in-reply-to references x-original-to envelope-to "
    b"resent-from resent-to dkim-signature".split()
)
_MAX_HEADER_SCAN = 256 * 1024
_CONTROL_BYTES = bytes(range(9))  # NUL to BS: the control bytes that give a binary file away
_MAX_JUNK_LINES = 3
_FIRST_LOOK = 4096  # bytes; most header sections end within them


def header_offset(raw: bytes) -> int:
    """Return where the header section starts; raise NotEmailError if `raw` cannot be email.

    A few junk lines before the headers (an mbox `From ` line, a gateway's banner such as
    `---- Original email message ----`) are skipped rather than turning the whole mail into body.
    """
    if not raw or not raw.strip():
        raise NotEmailError("empty payload")
    head = raw.lstrip()[:16]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise NotEmailError(f"payload is {kind}, not RFC 5322 mail")
    header_block = _header_block(raw)
    controls = len(header_block) - len(header_block.translate(None, _CONTROL_BYTES))
    if controls * 10 > len(header_block):
        raise NotEmailError("payload is binary: control bytes in the header section")
    lines = header_block.splitlines(keepends=True)
    offset = 0
    for line in lines[: _MAX_JUNK_LINES + 1]:
        if _FIELD.match(line) and not line.startswith(b"From "):
            break
        offset += len(line)
    else:
        raise NotEmailError("payload does not start with a header field")
    # Stops at the first email field, most often the first line.
    if not any((m := _FIELD.match(ln)) and m.group(1).lower() in _EMAIL_FIELDS for ln in lines):
        raise NotEmailError("no email header field (From, To, Subject, Date, ...) found")
    return offset


def empty_line(data: bytes) -> tuple[int, int] | None:
    """Return the span of the first empty line's break, as `re.search(rb"\r?\n\r?\n")` would.

    Two literal searches: the pattern, with no literal to skip ahead to, tries every byte.
    They look in a growing prefix, so that a mail with only one of the two line ends is not
    read to its end (and megabytes of attachment) for the other. Whichever is found first in
    a prefix, an earlier occurrence of the other would lie wholly inside it as well.
    """
    limit = _FIRST_LOOK
    while True:
        lf = data.find(b"\n\n", 0, limit)
        crlf = data.find(b"\n\r\n", 0, limit)
        if lf >= 0 or crlf >= 0:
            break
        if limit >= len(data):
            return None
        limit *= 8
    core = crlf if lf < 0 or 0 <= crlf < lf else lf
    start = core - 1 if core and data[core - 1] == 0x0D else core
    return start, core + (3 if core == crlf else 2)


def _header_block(raw: bytes) -> bytes:
    head = raw[:_MAX_HEADER_SCAN]
    end = empty_line(head)
    return head[: end[0]] if end else head


def repair_header_section(mime: bytes) -> tuple[bytes, int]:
    """Turn stray lines inside the header section into continuation lines.

    Spam filters and broken gateways insert lines without a field name between header fields
    (a wrapped `X-Spam-Status`, an unindented base64 tracker). The stdlib parser ends the header
    section at the first such line, losing From, To and Subject after it. Return the repaired
    bytes and how many lines were changed.
    """
    end = empty_line(mime[:_MAX_HEADER_SCAN])
    if end is None:
        return mime, 0
    lines = mime[: end[0]].split(b"\n")
    fields = [i for i, line in enumerate(lines) if _FIELD.match(line)]
    if not fields:
        return mime, 0
    fixed = 0
    for index in range(1, fields[-1]):
        line = lines[index]
        if line[:1] not in (b" ", b"\t") and not _FIELD.match(line):
            lines[index] = b" " + line
            fixed += 1
    if not fixed:
        return mime, 0
    return b"\n".join(lines) + mime[end[0] :], fixed
