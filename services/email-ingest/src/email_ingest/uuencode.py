"""uuencoded files inside text bodies (pre-MIME mailers, some mainframe and ERP exports)."""

from __future__ import annotations

import binascii
import re

_BLOCK = re.compile(r"^begin [0-7]{3,4} ([^\n]+)\n(.*?)^end[ \t]*$\n?", re.M | re.S)


def decode_uu_lines(lines: list[str]) -> bytes:
    """Decode uuencoded lines, tolerating the truncated and padded lines real mailers write."""
    out = bytearray()
    for line in lines:
        if not line or line in ("`", " "):
            continue
        raw = line.encode("latin-1", "replace")
        try:
            out += binascii.a2b_uu(raw)
        except binascii.Error:
            # Some encoders strip trailing spaces; decode only the length the line announces.
            count = (((raw[0] - 32) & 63) * 4 + 5) // 3
            try:
                out += binascii.a2b_uu(raw[:count].ljust(count, b" "))
            except binascii.Error:
                continue
    return bytes(out)


def extract_uuencoded(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Remove `begin 644 name ... end` blocks from `text`; return the text and the files."""
    if "begin " not in text:
        return text, []
    files: list[tuple[str, bytes]] = []

    def take(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        lines = match.group(2).split("\n")
        files.append((name, decode_uu_lines([ln.rstrip("\r") for ln in lines])))
        return ""

    return _BLOCK.sub(take, text), files
