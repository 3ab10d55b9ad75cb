"""Find the exact source bytes of each MIME part, so attached messages keep their bytes.

The stdlib parser turns message/rfc822 and message/delivery-status parts into Message objects,
and generating bytes from those again refolds headers and changes line endings: a forwarded
mail or a bounce report would no longer be the bytes that arrived. This module splits the raw
message along the same boundaries the parser used and maps each part to its body bytes.
"""

from __future__ import annotations

import re
from email.message import Message

from email_ingest.mime_params import content_type
from email_ingest.screening import empty_line


def split_header_body(raw: bytes) -> tuple[bytes, bytes]:
    """Split an entity into its header block and its body (after the first empty line)."""
    if raw.startswith((b"\n", b"\r\n")):
        return b"", raw[2 if raw.startswith(b"\r\n") else 1 :]
    end = empty_line(raw)
    if end is None:
        return raw, b""
    return raw[: end[0]], raw[end[1] :]


def split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """Return the parts between the delimiter lines of `boundary` (RFC 2046 5.1.1)."""
    token = re.escape(b"--" + boundary.encode("ascii", "surrogateescape"))
    # A delimiter starts a line. The pattern starts with the literal `--boundary` (and looks
    # back for the line start) so the engine can jump from one occurrence to the next; a
    # leading `(?:\A|\r?\n)` made it try every byte of the body. The boundary never ends
    # in a line break (get_boundary strips it), so the look-back cannot see into the
    # previous delimiter.
    delimiter = re.compile(token + rb"(?<![^\n]" + token + rb")(--)?[ \t]*(?=\r?\n|\Z)")
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            # The line break before a delimiter belongs to the delimiter, not to the part.
            end = match.start()
            end -= 2 if body[end - 2 : end] == b"\r\n" else 1
            parts.append(body[start:end])
        if match.group(1):
            return parts
        end = match.end()
        if body.startswith(b"\r\n", end):
            end += 2
        elif body.startswith(b"\n", end):
            end += 1
        start = end
    if start is not None:
        parts.append(body[start:])
    return parts


def stored_payload(part: Message) -> list[Message] | str:
    """The parsed payload: the child parts, or the body with 8-bit bytes surrogate-escaped.

    Use this, not `get_payload()`: for an 8-bit body that decodes with the charset parameter
    and catches only LookupError, so a charset name with a NUL (ValueError) or in RFC 2231
    form (a tuple: TypeError) crashes it, and the U+FFFD it leaves make a base64 body with
    stray 8-bit bytes unreadable. Here the bytes stay as they arrived, for our own decoding.
    """
    payload = part._payload  # compat32 keeps the body here; no public accessor leaves it as is
    return payload if isinstance(payload, list | str) else ""


def locate_raw_bodies(raw: bytes, msg: Message) -> dict[int, bytes]:
    """Map `id(part)` to the raw (still transfer-encoded) body bytes of each part found."""
    found: dict[int, bytes] = {}
    _visit(msg, split_header_body(raw)[1], found, 0)
    return found


def _visit(part: Message, body: bytes, found: dict[int, bytes], depth: int) -> None:
    found[id(part)] = body
    children = stored_payload(part)
    if depth > 50 or not isinstance(children, list):
        return
    part_type = content_type(part)
    if part_type.partition("/")[0] == "multipart":
        boundary = part.get_boundary()
        if not boundary:
            return
        chunks = split_multipart(body, boundary)
        if len(chunks) != len(children):
            return  # the parser repaired something we cannot follow: no bytes for this subtree
        for child, chunk in zip(children, chunks, strict=True):
            _visit(child, split_header_body(chunk)[1], found, depth + 1)
    elif part_type in ("message/rfc822", "message/global") and len(children) == 1:
        _visit(children[0], split_header_body(body)[1], found, depth + 1)
