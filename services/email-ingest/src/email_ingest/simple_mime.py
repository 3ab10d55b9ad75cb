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

# Field lines as the feedparser's headerRE reads them (with a non-empty name, so no envelope
# `From ` line), each followed by its continuation lines: every line of a simple header section.
_NAME = r"[\041-\071\073-\176]+"
_HEAD = re.compile(rf"(?:{_NAME}:[^\n]*\n(?:[ \t][^\n]*\n)*)+")
# One field of such a section: its name, and its value after the blanks following the colon.
_FIELD = re.compile(rf"({_NAME}):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n")
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
    if not _HEAD.fullmatch(head):
        return None  # a leading continuation, an envelope line, or a line ending the headers
    # compat32's header_source_parse: the name as is; the value without the blanks after the
    # colon, continuation lines joined as they are, trailing CR and LF stripped.
    headers = [(name, value.rstrip("\r\n")) for name, value in _FIELD.findall(head)]
    msg = Message(policy=policy.compat32)
    msg._headers = headers
    if content_type(msg) not in _TYPES or _encoding(headers) not in _ENCODINGS:
        return None
    msg._payload = mime[end[1] :].decode("ascii", "surrogateescape")
    return msg


def _encoding(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-transfer-encoding":
            return value.strip().lower()
    return ""
