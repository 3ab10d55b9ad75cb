"""Read the JSON examples out of channels.md, so tests hold the simulators to the document."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any


def json_blocks(path: Path) -> list[tuple[str, Any]]:
    """Return (label, parsed JSON) for every ```json block; the label is its `**Example` line."""
    blocks: list[tuple[str, Any]] = []
    label, inside, lines = "", False, []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if inside:
            if stripped.startswith("```"):
                inside = False
                # A block that does not parse is a fragment, not a complete example.
                with contextlib.suppress(ValueError):
                    blocks.append((label, json.loads("\n".join(lines))))
            else:
                lines.append(line)
        elif stripped.startswith("```json"):
            inside, lines = True, []
        elif stripped.startswith("**Example"):
            label = stripped.strip("*")
        elif stripped.startswith("#"):
            label = ""
    return blocks


def find(blocks: list[tuple[str, Any]], label: str = "", **match: Any) -> Any:
    """Return the first block whose label contains `label` and whose top-level keys match."""
    for block_label, data in blocks:
        if label and label not in block_label:
            continue
        if isinstance(data, dict) and all(data.get(k) == v for k, v in match.items()):
            return data
    raise LookupError(f"no channels.md JSON block labelled {label!r} with {match}")
