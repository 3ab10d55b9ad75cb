"""The webhook receiver: `create_app(settings)`."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from social_ingest.accounts import Accounts
from social_ingest.api.api_channel import api_channel_blueprint
from social_ingest.api.meta import meta_blueprint
from social_ingest.api.telegram import telegram_blueprint
from social_ingest.api.x import x_blueprint
from social_ingest.attachments import AttachmentFetcher, MediaLimits
from social_ingest.config import SocialIngestSettings, load_service_accounts
from social_ingest.ingestion import WebhookIngestor
from switchboard_shared.group_commit import GroupCommitBlobStore
from switchboard_shared.health import broker_check, health_blueprint
from switchboard_shared.publisher import ThreadLocalPublisher


def create_app(settings: SocialIngestSettings, accounts: Accounts | None = None) -> Flask:
    """Build the receiver: /webhooks/{meta,whatsapp,x,telegram,api}/... plus health.

    `accounts` defaults to the settings' accounts file with secrets from the environment.
    """
    if accounts is None:
        accounts = load_service_accounts(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    blobs = GroupCommitBlobStore(settings.blob.dir, settings.blob.fsync)
    limits = MediaLimits(
        settings.media_max_bytes,
        settings.media_timeout,
        settings.graph_api_url.rstrip("/"),
        settings.telegram_api_url.rstrip("/"),
    )
    ingestor = WebhookIngestor(
        blobs, ThreadLocalPublisher(settings.amqp), AttachmentFetcher(accounts, limits, blobs)
    )
    app.register_blueprint(meta_blueprint("meta", accounts, ingestor))
    app.register_blueprint(meta_blueprint("whatsapp", accounts, ingestor))
    app.register_blueprint(x_blueprint(accounts, ingestor))
    app.register_blueprint(telegram_blueprint(accounts, ingestor))
    app.register_blueprint(api_channel_blueprint(accounts, ingestor))
    # No database: deduplication and everything stateful happen in the inbox.
    app.register_blueprint(health_blueprint({"broker": broker_check(settings.amqp)}))

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException):
        body = {"error": error.description or error.name}
        if error.code == 413:
            body["limit_bytes"] = settings.max_body_bytes
        return jsonify(body), error.code

    return app
