"""The agents' API (and web inbox): `create_app(settings)`."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask_smorest import Api
from psycopg_pool import ConnectionPool

from inbox.api import (
    agents,
    attachments,
    auth,
    canned_responses,
    contacts,
    conversations,
    events,
    inboxes,
    messages,
)
from inbox.api.schemas import MessageSchema
from inbox.api.security import authenticate
from inbox.config import InboxSettings
from inbox.errors import Collision, InboxError
from inbox.live_feed import LiveFeed
from inbox.repository.agents import AgentRepository
from inbox.web import blp as web_inbox
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.database import connection_pool
from switchboard_shared.errors import InvalidEventError
from switchboard_shared.health import broker_check, database_check, health_blueprint

BLUEPRINTS = (
    auth,
    agents,
    inboxes,
    conversations,
    messages,
    contacts,
    canned_responses,
    events,
    attachments,
)
SWAGGER_ASSETS = "/api/docs/assets/"


def create_app(settings: InboxSettings, pool: ConnectionPool | None = None) -> Flask:
    """Build the API: /api/v1/*, /api/openapi.json, /api/docs, and the health endpoints."""
    app = Flask(__name__)
    pool = pool or connection_pool(settings.database, "inbox-api")
    app.extensions["inbox.pool"] = pool
    app.extensions["inbox.settings"] = settings
    app.extensions["inbox.live_feed"] = LiveFeed(settings.amqp)
    app.extensions["inbox.blobs"] = FilesystemBlobStore(settings.blob.dir, settings.blob.fsync)
    app.config.update(
        SECRET_KEY=settings.secret_key or _shared_session_key(pool),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        MAX_CONTENT_LENGTH=25 * 2**20,  # attachments uploaded for replies
        API_TITLE="Switchboard inbox",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Served from the swagger-ui-bundle package: the docs work offline.
        OPENAPI_SWAGGER_UI_URL=SWAGGER_ASSETS,
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}, {"sessionCookie": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
        },
    )
    api = Api(app)
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp)
    app.before_request(authenticate)
    app.register_blueprint(web_inbox)  # the web inbox at /, over this API
    app.register_blueprint(
        health_blueprint(
            {"broker": broker_check(settings.amqp), "database": database_check(settings.database)}
        )
    )

    @app.get(SWAGGER_ASSETS + "<path:filename>")
    def swagger_asset(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    @app.errorhandler(InboxError)
    def inbox_error(error: InboxError):
        body = {"code": error.status, "status": type(error).__name__, "message": error.message}
        if isinstance(error, Collision):
            body["errors"] = {"new_messages": MessageSchema(many=True).dump(error.new_messages)}
        return body, error.status

    @app.errorhandler(InvalidEventError)
    def unsendable(error: InvalidEventError):
        # e.g. a reply to a contact the channel cannot address (no email address known)
        body = {"code": 422, "status": "Unprocessable Entity", "message": error.reason}
        return body, 422

    @app.errorhandler(psycopg.DataError)
    def unstorable(error: psycopg.DataError):
        # e.g. a NUL character, which PostgreSQL text cannot hold
        body = {"code": 422, "status": "Unprocessable Entity", "message": str(error)}
        return body, 422

    @app.errorhandler(psycopg.errors.UniqueViolation)
    def duplicate(error):
        return {"code": 409, "status": "Conflict", "message": "that already exists"}, 409

    @app.errorhandler(psycopg.errors.ForeignKeyViolation)
    def dangling(error):
        return {"code": 422, "status": "Unprocessable Entity", "message": "unknown id"}, 422

    return app


def _shared_session_key(pool: ConnectionPool) -> str:
    with pool.connection() as connection:
        return AgentRepository(connection).shared_secret("session_key")
