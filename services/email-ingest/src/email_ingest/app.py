"""The HTTP ingress application: `create_app(settings)`."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from email_ingest.api.inbound import inbound_blueprint
from email_ingest.config import EmailIngestSettings
from email_ingest.ingestion import EmailIngestor
from email_ingest.replay_guard import ReplayGuard
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.database import connection_pool
from switchboard_shared.errors import ConfigError
from switchboard_shared.health import broker_check, database_check, health_blueprint
from switchboard_shared.publisher import ThreadLocalPublisher

# Form and JSON encodings (base64 attachments) inflate a message by about a third.
_ENCODING_SLACK = 1.4


def create_app(settings: EmailIngestSettings) -> Flask:
    """Build the ingress: /inbound/* plus /healthz, /readyz and /metrics."""
    if settings.ingress_token is None:
        # Optional in the settings because the IMAP poller shares them and never uses it.
        raise ConfigError(f"{EmailIngestSettings.env_prefix}INGRESS_TOKEN is required")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(settings.max_message_bytes * _ENCODING_SLACK)
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    blobs = FilesystemBlobStore(settings.blob.dir, settings.blob.fsync)
    ingestor = EmailIngestor(blobs, ThreadLocalPublisher(settings.amqp), "email-ingest/http")
    guard = None
    if settings.mailgun_signing_key is not None:
        pool = connection_pool(settings.database, "email-ingest-http")
        app.extensions["email_ingest.pool"] = pool  # closed by whoever disposes of the app
        guard = ReplayGuard(pool)
    app.register_blueprint(inbound_blueprint(settings, ingestor, guard))
    app.register_blueprint(
        health_blueprint(
            {
                "broker": broker_check(settings.amqp),
                "database": database_check(settings.database),
            }
        )
    )

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException):
        body = {"error": error.description or error.name}
        if error.code == 413:
            body["limit_bytes"] = settings.max_message_bytes
        return jsonify(body), error.code

    return app
