"""Turn a payload into exactly what it becomes on the wire, so what we validate is what we send."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

# Deeper than any event; past it (or a cycle) the JSON round trip decides, and raises as it did.
_MAX_DEPTH = 32
_AS_IS = frozenset({str, int, bool, float, type(None)})
_STR_ONLY = frozenset({str})


class _NeedsJson(Exception):
    pass


def to_json_ready(value: Any) -> Any:
    """Return `value` as a JSON round trip would (datetimes as ISO 8601), as fresh containers."""
    try:
        return _plain_copy(value, 0)
    except _NeedsJson:
        return json.loads(json.dumps(value, default=_json_default))


def as_json_ready(value: Any) -> Any:
    """Return `value` itself when it already is what a JSON round trip makes of it, else a copy.

    Payloads are mostly built JSON-ready: checking that is cheaper than copying them.
    """
    if _is_plain(value, 0):
        return value
    return to_json_ready(value)


def _is_plain(value: Any, depth: int) -> bool:
    # True when _plain_copy would return an equal value: only exact dicts with str keys, lists
    # and _AS_IS scalars (a tuple becomes a list, so it is not plain).
    if depth > _MAX_DEPTH:
        return False
    if type(value) is list:
        return _all_plain(value, depth + 1)
    if type(value) is dict:
        return set(map(type, value)) <= _STR_ONLY and _all_plain(value.values(), depth + 1)
    return type(value) in _AS_IS


def _all_plain(items: Iterable[Any], depth: int) -> bool:
    # Scalars are tested here, not in a call each (nor a generator's): most items are scalars.
    for item in items:  # noqa: SIM110 - all() with a generator is twice as slow here
        if type(item) not in _AS_IS and not _is_plain(item, depth):
            return False
    return True


def _plain_copy(value: Any, depth: int) -> Any:
    # The JSON round trip walked in Python for the plain types payloads are made of; anything
    # else (non-str keys, subclasses, sets, ...) goes through json itself so it stays the reference.
    # Scalars are tested inline: a call per leaf was most of the walk's cost.
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
            copied[key] = item if type(item) in _AS_IS else _plain_copy(item, depth + 1)
        return copied
    if kind is list or kind is tuple:
        return [item if type(item) in _AS_IS else _plain_copy(item, depth + 1) for item in value]
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
