"""Fixtures for social-ingest unit tests; puts the repo root on sys.path for tests.simulators."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
# pytest's importlib mode does not add rootdir to sys.path; the simulators live under tests/.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from social_ingest.accounts import Accounts, parse_accounts  # noqa: E402
from social_ingest.normalize import Normalized  # noqa: E402
from switchboard_shared.schemas import DELIVERY_STATUS, MESSAGE_RECEIVED  # noqa: E402
from tests.simulators.accounts import ENVIRON, accounts_data  # noqa: E402

RECEIVED_AT = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def schema_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every payload a normalizer keeps must pass its bus schema.

    The service checks them once, when publishing; here each one is checked as it is made,
    so a normalizer test fails at the payload that is wrong.
    """
    add_message, add_status = Normalized.add_message, Normalized.add_status

    def message(self: Normalized, payload: dict, media=None, where: str = "") -> None:
        MESSAGE_RECEIVED.validate(payload)
        add_message(self, payload, media, where)

    def status(self: Normalized, payload: dict, where: str = "") -> None:
        DELIVERY_STATUS.validate(payload)
        add_status(self, payload, where)

    monkeypatch.setattr(Normalized, "add_message", message)
    monkeypatch.setattr(Normalized, "add_status", status)


@pytest.fixture
def accounts_file() -> dict:
    """A fresh copy of the test accounts file's content, to modify."""
    return accounts_data()


@pytest.fixture
def environ() -> dict[str, str]:
    """The environment the test accounts' secrets come from."""
    return dict(ENVIRON)


@pytest.fixture
def accounts() -> Accounts:
    """The resolved test accounts."""
    return parse_accounts(accounts_data(), ENVIRON)


@pytest.fixture
def ctx() -> dict:
    """The caller's side of every normalize call: receipt time and the raw body's sha256."""
    return {"received_at": RECEIVED_AT, "raw_sha256": hashlib.sha256(b"raw").hexdigest()}


@pytest.fixture(scope="session")
def chatwoot(corpus_dir: Path) -> Callable[[str], list[dict]]:
    """Load the items of a Chatwoot payload file, by its path under chatwoot/payloads."""

    def items(path: str) -> list[dict]:
        text = (corpus_dir / "chatwoot/payloads" / path).read_text(encoding="utf-8")
        return json.loads(text)["items"]

    return items


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return values.get(value[1:-1], value)
    return value


@pytest.fixture(scope="session")
def fill() -> Callable[[Any, dict[str, Any]], Any]:
    """Replace the corpus's `"<name>"` placeholders (Ruby expressions) with values."""
    return _fill


@pytest.fixture(scope="session")
def channels_md(corpus_dir: Path) -> Path:
    """channels.md, the providers' formats, next to the corpus directory."""
    path = corpus_dir.parent / "channels.md"
    if not path.is_file():
        pytest.fail(f"channels.md not found at {path}: set SWITCHBOARD_CORPUS to ../shared/corpus")
    return path
