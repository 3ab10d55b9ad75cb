"""Readable parser defects, and strings made safe for JSON and PostgreSQL text."""

from __future__ import annotations

import re
from email.message import Message
from typing import Any

MAX_DEFECTS = 40
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNCHANGED = frozenset({type(None), bool, int, float})


def describe_defects(msg: Message, found: list[str]) -> list[str]:
    """Merge the stdlib parser's defects of every part with ours, readable and de-duplicated."""
    described: list[str] = []
    for part in msg.walk():
        for defect in getattr(part, "defects", []):
            name = _CAMEL.sub(" ", type(defect).__name__.removesuffix("Defect")).lower()
            detail = str(defect).strip()
            where = part.get_content_type()
            described.append(f"MIME {where}: {name}" + (f" ({detail[:120]})" if detail else ""))
    described.extend(found)
    unique = list(dict.fromkeys(described))
    if len(unique) > MAX_DEFECTS:
        unique = [*unique[:MAX_DEFECTS], f"... and {len(unique) - MAX_DEFECTS} more defects"]
    return unique


def scrub(value: Any) -> Any:
    """Drop NUL characters (PostgreSQL text refuses them) and lone surrogates, recursively."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        if not value.isascii() and _LONE_SURROGATE.search(value):
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    # Most values of a payload are None, booleans and numbers: no call for those.
    if isinstance(value, dict):
        return {
            key: item if type(item) in _UNCHANGED else scrub(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) in _UNCHANGED else scrub(item) for item in value]
    return value
