"""notifier settings, read once from SWITCHBOARD_NOTIFIER_* and the shared sections.

Provider tokens come from two places: a default token per provider in these settings (one
account per network, the common case) and an accounts file that names, per account id, the
environment variable holding that account's token. `load_tokens` reads both, once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from notifier.accounts import PROVIDERS, Tokens
from switchboard_shared.config import (
    AmqpSettings,
    BlobSettings,
    DatabaseSettings,
    LogSettings,
    Secret,
    setting,
)
from switchboard_shared.errors import ConfigError

SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class NotifierSettings:
    """Everything the notifier worker needs."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_NOTIFIER_"
    amqp: AmqpSettings
    blob: BlobSettings
    log: LogSettings
    database: DatabaseSettings
    health_host: str = setting("address the health endpoints listen on", "0.0.0.0")  # noqa: S104
    health_port: int = setting("port of the health endpoints", 9004)
    queues: tuple[str, ...] = setting(
        "work queues this process consumes, one consumer thread each (comma-separated)",
        ("notifier.email", "notifier.meta", "notifier.whatsapp", "notifier.x", "notifier.telegram"),
    )
    consumers_per_queue: int = setting("consumer threads per work queue", 4)
    prefetch: int = setting("unacknowledged replies each consumer holds", 20)
    max_attempts: int = setting(
        "attempts per reply (rate-limit waits included) before it fails for good", 8
    )
    smtp_host: str = setting("SMTP server replies are sent through", "localhost")
    smtp_port: int = setting("SMTP server port (587 for starttls, 465 for tls)", 25)
    smtp_security: str = setting("starttls, tls (implicit, port 465) or none", "none")
    smtp_username: str | None = setting("SMTP login (none: no AUTH)", None)
    smtp_password: Secret | None = setting("SMTP password", None)
    smtp_ca_file: Path | None = setting(
        "CA certificates to verify the SMTP server with (none: the system's)", None
    )
    smtp_timeout: float = setting("seconds for each SMTP command", 30.0)
    smtp_envelope_from: str | None = setting(
        "MAIL FROM address (bounces go there); none: the reply's From address", None
    )
    smtp_local_hostname: str | None = setting("name given in EHLO (none: this host's FQDN)", None)
    http_connect_timeout: float = setting("seconds to connect to a provider's API", 3.05)
    http_read_timeout: float = setting("seconds to wait for a provider's answer", 15.0)
    graph_api_url: str = setting(
        "Graph API base URL, version included (Messenger, Pages, Instagram, WhatsApp)",
        "https://graph.facebook.com/v25.0",
    )
    x_api_url: str = setting("X API base URL (without /2)", "https://api.x.com")
    telegram_api_url: str = setting("Telegram Bot API base URL", "https://api.telegram.org")
    messenger_human_agent: bool = setting(
        "the Meta app may use the HUMAN_AGENT tag (human replies up to 7 days)", True
    )
    accounts_file: Path | None = setting(
        "JSON file naming, per provider and account id, the variable holding its token", None
    )
    meta_token: Secret | None = setting("Page/Instagram token for accounts not in the file", None)
    whatsapp_token: Secret | None = setting(
        "WhatsApp Cloud token for numbers not in the file", None
    )
    x_token: Secret | None = setting(
        "X user-context bearer token for accounts not in the file", None
    )
    telegram_token: Secret | None = setting("Telegram bot token for bots not in the file", None)

    def __post_init__(self) -> None:
        if self.smtp_security not in SMTP_SECURITY:
            raise ConfigError(
                f"SWITCHBOARD_NOTIFIER_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}"
            )


def load_tokens(settings: NotifierSettings, environ: Mapping[str, str] | None = None) -> Tokens:
    """Read the accounts file (if any) and resolve the variables it names; fail fast."""
    env = os.environ if environ is None else environ
    by_account: dict[tuple[str, str], str] = {}
    if settings.accounts_file is not None:
        try:
            document = json.loads(settings.accounts_file.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {settings.accounts_file}: {exc}") from None
        errors = []
        if not isinstance(document, dict):
            document, errors = {}, ["the accounts file must hold a JSON object"]
        for provider, accounts in document.items():
            if provider not in PROVIDERS or not isinstance(accounts, dict):
                errors.append(f"{provider!r}: expected one of {', '.join(PROVIDERS)} -> object")
                continue
            for account, variable in accounts.items():
                token = env.get(str(variable))
                if not token:
                    errors.append(f"{provider} account {account}: {variable} is not set")
                else:
                    by_account[(provider, str(account))] = token
        if errors:
            raise ConfigError(f"invalid {settings.accounts_file}:\n  " + "\n  ".join(errors))
    defaults = {
        "meta": settings.meta_token,
        "whatsapp": settings.whatsapp_token,
        "x": settings.x_token,
        "telegram": settings.telegram_token,
    }
    return Tokens(by_account, {k: v for k, v in defaults.items() if v})
