"""Fetch a message's files under the policy of the account that received it.

Each network has its own allowed hosts (the accounts file's `media_hosts`, or the defaults);
WhatsApp media ids are resolved with the receiving number's token and Telegram file ids with
the receiving bot's token, so a token never serves another account's files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import requests

from social_ingest.accounts import Accounts
from social_ingest.media import MediaPolicy, attach
from social_ingest.normalize import MediaRef
from switchboard_shared.blobstore import BlobStore

_X_CHANNELS = {"x_mention", "x_dm"}


@dataclass(frozen=True)
class MediaLimits:
    """The limits every fetch shares, and where ids are resolved."""

    max_bytes: int
    timeout: float
    graph_api: str
    telegram_api: str


class AttachmentFetcher:
    """Fetches files into the blob store; one requests session per thread (gunicorn gthread)."""

    def __init__(self, accounts: Accounts, limits: MediaLimits, store: BlobStore) -> None:
        self.accounts = accounts
        self.limits = limits
        self.store = store
        self._local = threading.local()

    def attach(self, payload: dict, refs: list[MediaRef]) -> None:
        """Fetch `refs`, store them and list them on `payload` (unavailable ones with a reason)."""
        attach(payload, refs, self._session(), self.policy_for(payload), self.store)

    def policy_for(self, payload: dict) -> MediaPolicy:
        """The hosts, limits and token that apply to files of this message."""
        channel, inbox = payload["channel"], payload["inbox"]
        hosts, graph_token, telegram_token = self.accounts.hosts_for("meta"), None, None
        if channel == "whatsapp":
            hosts = self.accounts.hosts_for("whatsapp")
            number = self.accounts.whatsapp_numbers.get(inbox)
            graph_token = number.access_token if number else None
        elif channel == "telegram":
            hosts = self.accounts.hosts_for("telegram")
            bot = self.accounts.telegram_bots.get(inbox)
            telegram_token = bot.token if bot else None
        elif channel in _X_CHANNELS:
            hosts = self.accounts.hosts_for("x")
        elif channel == "api":
            source = self.accounts.api_sources.get(inbox)
            hosts = source.media_hosts if source else ()
        return MediaPolicy(
            allowed_hosts=hosts,
            max_bytes=self.limits.max_bytes,
            timeout=self.limits.timeout,
            telegram_token=telegram_token,
            telegram_api=self.limits.telegram_api,
            graph_token=graph_token,
            graph_api=self.limits.graph_api,
        )

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            # Proxies or netrc from the environment must not reroute or authenticate fetches.
            session.trust_env = False
        return session
