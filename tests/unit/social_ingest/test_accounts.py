"""The accounts file: validation, secrets from the environment mapping, clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from social_ingest.accounts import DEFAULT_MEDIA_HOSTS, load_accounts, parse_accounts
from switchboard_shared.errors import ConfigError


def test_load_resolves_secrets_and_indexes_accounts(tmp_path, accounts_file, environ) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(accounts_file))
    accounts = load_accounts(path, environ)
    app = accounts.meta_apps["main"]
    assert (app.app_id, app.app_secret, app.verify_token) == (
        "1517776481860111",
        "test_app_secret",
        "meatyhamhock",
    )
    assert accounts.facebook_pages["682498302938465"].app == "main"
    assert accounts.whatsapp_numbers["106540352242922"].access_token == "wa-access-token"
    assert accounts.telegram_bots["7000000001"].secret_token == "test_secret_token-1"
    assert accounts.api_sources["webform"].tolerance_seconds == 300
    assert accounts.hosts_for("x") == DEFAULT_MEDIA_HOSTS["x"]
    # Secrets never show in a repr (logs, tracebacks).
    assert "test_app_secret" not in repr(accounts)
    with pytest.raises(AttributeError):
        app.app_id = "1"  # frozen


def test_missing_variables_are_all_named(accounts_file, environ) -> None:
    partial = {k: v for k, v in environ.items() if k not in ("META_APP_SECRET", "TG_SECRET")}
    with pytest.raises(ConfigError, match="not set \\(or empty\\): META_APP_SECRET, TG_SECRET"):
        parse_accounts(accounts_file, partial)
    with pytest.raises(ConfigError, match="X_CONSUMER_SECRET"):
        parse_accounts(accounts_file, {**environ, "X_CONSUMER_SECRET": ""})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(pages=[]), "pages"),
        (
            lambda d: d["facebook_pages"].append({"page_id": "1", "app": "ghost"}),
            "names unknown app 'ghost'",
        ),
        (
            lambda d: d["facebook_pages"].append(dict(d["facebook_pages"][0])),
            "page_id values must be unique",
        ),
        (
            lambda d: d["meta_apps"][0].update(app_secret_env="meta-secret"),
            "not an environment variable name",
        ),
        (
            lambda d: d["x_accounts"].append({"user_id": "@brand", "app": "main"}),
            "must be a string of digits",
        ),
        (lambda d: d["meta_apps"][0].pop("verify_token_env"), "verify_token_env"),
        (lambda d: d.update(media_hosts={"myspace": ["a"]}), "myspace"),
    ],
)
def test_invalid_files_are_refused(accounts_file, environ, change, message) -> None:
    change(accounts_file)
    with pytest.raises(ConfigError, match="invalid") as error:
        parse_accounts(accounts_file, environ)
    assert message in str(error.value)


def test_telegram_token_and_secret_are_checked(accounts_file, environ) -> None:
    with pytest.raises(ConfigError, match="TG_TOKEN: the token belongs to another bot"):
        parse_accounts(accounts_file, {**environ, "TG_TOKEN": "123:abc"})
    with pytest.raises(ConfigError, match="TG_SECRET: a Telegram secret token"):
        parse_accounts(accounts_file, {**environ, "TG_SECRET": "has spaces"})


def test_unreadable_and_malformed_files(tmp_path, environ) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_accounts(tmp_path / "missing.json", environ)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_accounts(bad, environ)


def test_media_hosts_override_defaults(accounts_file, environ) -> None:
    accounts_file["media_hosts"] = {"meta": ["http://127.0.0.1:8080"]}
    accounts = parse_accounts(accounts_file, environ)
    assert accounts.hosts_for("meta") == ("http://127.0.0.1:8080",)
    assert accounts.hosts_for("telegram") == ("api.telegram.org",)
    assert accounts.api_sources["webform"].media_hosts == ("files.example.com",)


def test_the_example_file_is_valid() -> None:
    path = Path(__file__).resolve().parents[3] / "services/social-ingest/accounts.example.json"
    names = re.findall(r'"\w+_env": "(\w+)"', path.read_text())
    environ = {
        name: "7000000001:x" if name == "SOCIAL_TELEGRAM_TOKEN" else "s3cret" for name in names
    }
    accounts = load_accounts(path, environ)
    assert set(accounts.telegram_bots) == {"7000000001"}
    assert accounts.x_accounts["2244994945"].app == "main"
