"""Channel accounts (pages, numbers, bots, API sources) from a JSON file, secrets from the env.

The file names each secret by the environment variable that holds it (`"app_secret_env":
"META_APP_SECRET"`), so it can be committed or mounted as a config map while secrets stay in
the environment. The caller passes that environment in as a mapping: nothing here reads
`os.environ`. Every problem is reported at once in one ConfigError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from social_ingest.accounts_file import DEFAULT_MEDIA_HOSTS, ID_FIELDS, AccountsFileSchema
from switchboard_shared.config import Secret
from switchboard_shared.errors import ConfigError

_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class MetaApp:
    """A Meta app: its secret signs Messenger, Page, Instagram and WhatsApp webhooks."""

    name: str
    app_id: str
    app_secret: Secret = field(repr=False)
    verify_token: Secret = field(repr=False)


@dataclass(frozen=True)
class FacebookPage:
    """A Facebook Page: Messenger conversations and feed comments; inbox = page id."""

    page_id: str
    name: str | None
    app: str
    access_token: Secret | None = field(repr=False)


@dataclass(frozen=True)
class InstagramAccount:
    """An Instagram professional account: DMs and comments; inbox = IG account id."""

    ig_id: str
    username: str | None
    app: str
    access_token: Secret | None = field(repr=False)


@dataclass(frozen=True)
class WhatsAppNumber:
    """A WhatsApp Cloud API phone number; inbox = phone number id."""

    phone_number_id: str
    waba_id: str | None
    display_phone_number: str | None
    app: str
    access_token: Secret | None = field(repr=False)


@dataclass(frozen=True)
class XApp:
    """An X app: its consumer secret answers CRC challenges and signs webhooks."""

    name: str
    app_id: str
    consumer_secret: Secret = field(repr=False)


@dataclass(frozen=True)
class XAccount:
    """An X account subscribed to the Account Activity API; inbox = its user id."""

    user_id: str
    screen_name: str | None
    app: str


@dataclass(frozen=True)
class TelegramBot:
    """A Telegram bot; inbox = bot id (the part of its token before the colon)."""

    bot_id: str
    username: str | None
    token: Secret | None = field(repr=False)
    secret_token: Secret = field(repr=False)


@dataclass(frozen=True)
class ApiSource:
    """A source feeding the API channel (a web form, a widget, an app); inbox = its name."""

    name: str
    secret: Secret = field(repr=False)
    tolerance_seconds: int = 300
    media_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Accounts:
    """Every configured account, looked up by the id a webhook carries."""

    meta_apps: Mapping[str, MetaApp] = field(default_factory=dict)
    facebook_pages: Mapping[str, FacebookPage] = field(default_factory=dict)
    instagram_accounts: Mapping[str, InstagramAccount] = field(default_factory=dict)
    whatsapp_numbers: Mapping[str, WhatsAppNumber] = field(default_factory=dict)
    x_apps: Mapping[str, XApp] = field(default_factory=dict)
    x_accounts: Mapping[str, XAccount] = field(default_factory=dict)
    telegram_bots: Mapping[str, TelegramBot] = field(default_factory=dict)
    api_sources: Mapping[str, ApiSource] = field(default_factory=dict)
    media_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def hosts_for(self, network: str) -> tuple[str, ...]:
        """Return the hosts media of `network` (meta, whatsapp, x, telegram) may come from."""
        return self.media_hosts.get(network, DEFAULT_MEDIA_HOSTS.get(network, ()))


def load_accounts(path: Path | str, environ: Mapping[str, str]) -> Accounts:
    """Read, validate and resolve the accounts file, or raise ConfigError saying what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"accounts file {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"accounts file {path}: not valid JSON ({exc})") from None
    return parse_accounts(data, environ, source=str(path))


def parse_accounts(data: Any, environ: Mapping[str, str], source: str = "accounts") -> Accounts:
    """Validate already-parsed accounts data and resolve its secrets from `environ`."""
    try:
        loaded = AccountsFileSchema().load(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: invalid: {json.dumps(exc.messages, sort_keys=True)}"
        ) from None
    resolver = _SecretResolver(environ)
    accounts = _build(loaded, resolver)
    if resolver.missing:
        names = ", ".join(sorted(resolver.missing))
        raise ConfigError(f"{source}: environment variables not set (or empty): {names}")
    return accounts


class _SecretResolver:
    """Collects every missing variable so one error names them all."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.missing: set[str] = set()

    def __call__(self, name: str | None) -> Secret | None:
        if name is None:
            return None
        value = self.environ.get(name)
        if not value:
            self.missing.add(name)
            return Secret("")
        return Secret(value)


_CLASSES: Mapping[str, type] = {
    "meta_apps": MetaApp,
    "facebook_pages": FacebookPage,
    "instagram_accounts": InstagramAccount,
    "whatsapp_numbers": WhatsAppNumber,
    "x_apps": XApp,
    "x_accounts": XAccount,
    "telegram_bots": TelegramBot,
    "api_sources": ApiSource,
}


def _build(data: dict, secret: _SecretResolver) -> Accounts:
    """Each `<name>_env` key becomes the field `<name>` holding the variable's value."""
    built: dict[str, Any] = {}
    for key, cls in _CLASSES.items():
        built[key] = {}
        for item in data[key]:
            values = {
                name.removesuffix("_env"): secret(value) if name.endswith("_env") else value
                for name, value in item.items()
            }
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
            built[key][item[ID_FIELDS[key]]] = cls(**values)
    for item in data["telegram_bots"]:
        _check_bot(built["telegram_bots"][item["bot_id"]], item)
    built["media_hosts"] = {k: tuple(v) for k, v in data["media_hosts"].items()}
    return Accounts(**built)


def _check_bot(bot: TelegramBot, raw: dict) -> None:
    """Fail on a secret Telegram would refuse, or a token that belongs to another bot."""
    if bot.secret_token and not _TELEGRAM_SECRET.match(bot.secret_token):
        raise ConfigError(
            f"{raw['secret_token_env']}: a Telegram secret token is 1-256 of A-Z a-z 0-9 _ -"
        )
    if bot.token and bot.token.split(":", 1)[0] != bot.bot_id:
        raise ConfigError(f"{raw['token_env']}: the token belongs to another bot than {bot.bot_id}")
