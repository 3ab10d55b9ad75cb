"""Telegram Bot API webhooks (`/webhooks/telegram/<bot id>`): one update per request."""

from __future__ import annotations

from flask import Blueprint, abort, request

from social_ingest.accounts import Accounts
from social_ingest.api.acceptance import accept, refuse
from social_ingest.ingestion import WebhookIngestor
from social_ingest.normalize import telegram
from social_ingest.signatures import TELEGRAM_SECRET_HEADER, verify_telegram


def telegram_blueprint(accounts: Accounts, ingestor: WebhookIngestor) -> Blueprint:
    """Build the blueprint taking the updates of every configured bot."""
    blueprint = Blueprint("telegram", __name__, url_prefix="/webhooks/telegram")

    @blueprint.post("/<bot_id>")
    def update(bot_id: str):
        """Take one update carrying the bot's secret token."""
        bot = accounts.telegram_bots.get(bot_id)
        if bot is None:
            abort(404, f"no Telegram bot {bot_id!r} is configured")
        verdict = verify_telegram(request.headers.get(TELEGRAM_SECRET_HEADER), bot.secret_token)
        if not verdict:
            return refuse("telegram", 401, verdict.reason)
        return accept(
            "telegram",
            ingestor,
            request.get_data(cache=False),
            lambda body, received_at, sha: telegram.normalize(
                body, bot=bot, received_at=received_at, raw_sha256=sha
            ),
        )

    return blueprint
