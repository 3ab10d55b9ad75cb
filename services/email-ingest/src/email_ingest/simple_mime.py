"""Parse a simple single-part mail into the stdlib's compat32 Message without the feedparser.

Most mail a support inbox receives is one text/plain or text/html part with well-formed
headers. The stdlib feedparser reads it line by line through a generator, a buffered
line queue and several regexes per line, the largest single cost of parsing such a mail.
`simple_message` builds the very Message the feedparser would (same header tuples, same
payload string, no defects) when the mail is that simple, and returns None for anything
else, which then takes the general path: the feedparser after the header repair.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message

from email_ingest.mime_params import content_type
from email_ingest.screening import empty_line

# A field line as the feedparser's headerRE reads one, with a non-empty name.
_FIELD_LINE = re.compile(r"[\041-\071\073-\176]+:")
_TYPES = frozenset({"text/plain", "text/html"})
_ENCODINGS = frozenset({"", "7bit", "8bit", "quoted-printable", "base64"})


def simple_message(mime: bytes) -> Message | None:
    """Return the parsed message if `mime` is a simple single-part mail, else None.

    Simple: one text/plain or text/html part in 7bit, 8bit, quoted-printable or base64, and a
    header section of field lines and their continuations only, ended by an empty line. The
    feedparser finds no defect in such a mail, and the header repair has nothing to join.
    """
    end = empty_line(mime)
    if end is None:
        return None
    # The lines up to the empty one, each with its "\n" (the "\r" of "\r\n" is kept, as
    # the feedparser keeps it); a lone "\r" before the empty line is caught below.
    head = mime[: mime.rindex(b"\n", 0, end[1] - 1) + 1].decode("ascii", "surrogateescape")
    if "\r" in head and "\r" in head.replace("\r\n", ""):
        return None  # a lone CR breaks a line for the feedparser, not for us
    headers: list[tuple[str, str]] = []
    lines = head.split("\n")
    lines.pop()  # the empty string after the last line's "\n"
    start = 0
    for index, line in enumerate(lines):
        if line[:1] in (" ", "\t"):
            if index == 0:
                return None  # the feedparser notes a defect for a leading continuation
            continue
        if line.startswith("From ") or not _FIELD_LINE.match(line):
            return None  # an envelope line or a line that ends the headers early
        if index:
            headers.append(_field(lines, start, index))
        start = index
    headers.append(_field(lines, start, len(lines)))
    msg = Message(policy=policy.compat32)
    msg._headers = headers
    if content_type(msg) not in _TYPES or _encoding(headers) not in _ENCODINGS:
        return None
    msg._payload = mime[end[1] :].decode("ascii", "surrogateescape")
    return msg


def _field(lines: list[str], start: int, stop: int) -> tuple[str, str]:
    """The (name, value) the compat32 policy makes of the field on `lines[start:stop]`."""
    name, value = lines[start].split(":", 1)
    value = value.lstrip(" \t")
    if stop > start + 1:
        value = "\n".join([value, *lines[start + 1 : stop]])
    return name, value.rstrip("\r\n")


def _encoding(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-transfer-encoding":
            return value.strip().lower()
    return ""
