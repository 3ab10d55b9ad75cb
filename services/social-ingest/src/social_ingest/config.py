"""social-ingest settings, read once from SWITCHBOARD_SOCIAL_INGEST_* and the shared sections.

The channel accounts (pages, numbers, bots, API sources) live in a JSON file named here; the
secrets that file names are read from the same environment, in `load_service_accounts`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from social_ingest.accounts import Accounts, load_accounts
from social_ingest.media import DEFAULT_MAX_BYTES
from switchboard_shared.config import AmqpSettings, BlobSettings, LogSettings, setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SocialIngestSettings:
    """Everything the webhook receiver needs."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_SOCIAL_INGEST_"
    amqp: AmqpSettings
    blob: BlobSettings
    log: LogSettings
    accounts_file: Path | None = setting(
        "JSON file listing the channel accounts (see accounts.example.json); the secrets it "
        "names are read from the environment. Unset: no accounts, every webhook gets 404",
        None,
    )
    max_body_bytes: int = setting("largest accepted webhook body in bytes (413 above)", 2**20)
    media_max_bytes: int = setting(
        "largest attachment fetched, in bytes (larger ones are marked unavailable)",
        DEFAULT_MAX_BYTES,
    )
    media_timeout: float = setting("seconds to connect to a media host, and for a whole file", 10.0)
    graph_api_url: str = setting(
        "Graph API base URL, used to resolve WhatsApp media ids",
        "https://graph.facebook.com/v25.0",
    )
    telegram_api_url: str = setting(
        "Telegram Bot API base URL, used to resolve file ids", "https://api.telegram.org"
    )


def load_service_accounts(
    settings: SocialIngestSettings, environ: Mapping[str, str] | None = None
) -> Accounts:
    """Read the accounts file the settings name, resolving its secrets from the environment."""
    if settings.accounts_file is None:
        log.warning("no accounts file configured: every webhook will be answered 404")
        return Accounts()
    return load_accounts(settings.accounts_file, os.environ if environ is None else environ)
