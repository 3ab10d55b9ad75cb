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


def records(rows: Iterable[dict]) -> Jsonb:
    """Rows as one jsonb parameter (datetimes as ISO 8601)."""
    return Jsonb(list(rows), dumps=_dumps)
