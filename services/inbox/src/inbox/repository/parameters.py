"""Batch parameters: a list of dicts as one jsonb value, expanded by `jsonb_to_recordset`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from psycopg.types.json import Jsonb


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_dumps = partial(json.dumps, default=_json_default, separators=(",", ":"))


def _dumps_without_nul(value: object) -> str:
    text = _dumps(value)
    if "\\u0000" not in text:  # the common case: one scan, no copy
        return text
    return _dumps(_without_nul(value))


def _without_nul(value: object) -> object:
    """PostgreSQL text and jsonb cannot hold NUL characters: drop them (rare, malformed input)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_nul(v) for v in value]
    return value


def records(rows: Iterable[dict]) -> Jsonb:
    """Rows as one jsonb parameter (datetimes as ISO 8601, NUL characters dropped)."""
    return Jsonb(list(rows), dumps=_dumps_without_nul)
