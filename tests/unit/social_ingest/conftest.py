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

RECEIVED_AT = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)

ENVIRON = {
    "META_APP_SECRET": "test_app_secret",
    "META_VERIFY_TOKEN": "meatyhamhock",
    "OTHER_APP_SECRET": "other_secret",
    "OTHER_VERIFY_TOKEN": "other_token",
    "X_CONSUMER_SECRET": "test_consumer_secret",
    "TG_TOKEN": "7000000001:AAH-test-token",
    "TG_SECRET": "test_secret_token-1",
    "API_SECRET": "test_api_secret",
    "WA_TOKEN": "wa-access-token",
}


def accounts_data() -> dict:
    """The test accounts file: channels.md's ids, the corpus's ids, and one foreign app."""
    pages = ["682498302938465", "448242228374517", "117172741761305"]
    ig = ["17841405309211844", "instagram-message-id-123"]
    x_users = [("2244994945", "TwitterDev"), ("4337869213", "Harris_0ff")]
    x_users += [("2975699229", "ScruffyMcG"), ("1", "chatwootapp")]
    return {
        "meta_apps": [
            {
                "name": "main",
                "app_id": "1517776481860111",
                "app_secret_env": "META_APP_SECRET",
                "verify_token_env": "META_VERIFY_TOKEN",
            },
            {
                "name": "other",
                "app_id": "999",
                "app_secret_env": "OTHER_APP_SECRET",
                "verify_token_env": "OTHER_VERIFY_TOKEN",
            },
        ],
        "facebook_pages": [{"page_id": p, "app": "main"} for p in pages]
        + [{"page_id": "555000555", "app": "other"}],
        "instagram_accounts": [{"ig_id": i, "app": "main", "username": "acme"} for i in ig],
        "whatsapp_numbers": [
            {
                "phone_number_id": "106540352242922",
                "waba_id": "102290129340398",
                "display_phone_number": "15550783881",
                "app": "main",
                "access_token_env": "WA_TOKEN",
            }
        ],
        "x_apps": [
            {"name": "main", "app_id": "13090192", "consumer_secret_env": "X_CONSUMER_SECRET"}
        ],
        "x_accounts": [{"user_id": u, "screen_name": s, "app": "main"} for u, s in x_users],
        "telegram_bots": [
            {
                "bot_id": "7000000001",
                "username": "acme_bot",
                "token_env": "TG_TOKEN",
                "secret_token_env": "TG_SECRET",
            }
        ],
        "api_sources": [
            {"name": "webform", "secret_env": "API_SECRET", "media_hosts": ["files.example.com"]}
        ],
    }


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
