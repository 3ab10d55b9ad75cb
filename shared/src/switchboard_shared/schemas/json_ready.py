"""Turn a payload into exactly what it becomes on the wire, so what we validate is what we send."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

# Deeper than any event; past it (or a cycle) the JSON round trip decides, and raises as it did.
_MAX_DEPTH = 32
_AS_IS = frozenset({str, int, bool, float, type(None)})


class _NeedsJson(Exception):
    pass


def to_json_ready(value: Any) -> Any:
    """Return `value` as a JSON round trip would (datetimes as ISO 8601), as fresh containers."""
    try:
        return _plain_copy(value, 0)
    except _NeedsJson:
        return json.loads(json.dumps(value, default=_json_default))


def _plain_copy(value: Any, depth: int) -> Any:
    # The JSON round trip walked in Python for the plain types payloads are made of; anything
    # else (non-str keys, subclasses, sets, ...) goes through json itself so it stays the reference.
    kind = type(value)
    if kind in _AS_IS:
        return value
    if depth > _MAX_DEPTH:
        raise _NeedsJson
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NeedsJson
            copied[key] = _plain_copy(item, depth + 1)
        return copied
    if kind is list or kind is tuple:
        return [_plain_copy(item, depth + 1) for item in value]
    if kind is datetime or kind is date:
        return value.isoformat()
    raise _NeedsJson


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
