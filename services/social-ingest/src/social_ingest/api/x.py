"""X Account Activity API webhooks (`/webhooks/x/<app>`): the CRC and signed events."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from social_ingest.accounts import Accounts, XApp
from social_ingest.api.acceptance import accept, refuse
from social_ingest.ingestion import WebhookIngestor
from social_ingest.normalize import x
from social_ingest.signatures import X_SIGNATURE_HEADER, verify_x, x_crc_response


def x_blueprint(accounts: Accounts, ingestor: WebhookIngestor) -> Blueprint:
    """Build the blueprint serving X's CRC challenge and event deliveries."""
    blueprint = Blueprint("x", __name__, url_prefix="/webhooks/x")

    def app_named(name: str) -> XApp:
        app = accounts.x_apps.get(name)
        if app is None:
            abort(404, f"no X app named {name!r} is configured")
        return app

    @blueprint.get("/<name>")
    def crc(name: str):
        """Answer the CRC: the crc_token's HMAC with the consumer secret, base64."""
        body = x_crc_response(request.args.get("crc_token"), app_named(name).consumer_secret)
        if body is None:
            return refuse("x", 400, "missing crc_token")
        return jsonify(body)

    @blueprint.post("/<name>")
    def events(name: str):
        """Take one signed delivery: every tweet, DM and read receipt in it."""
        app = app_named(name)
        raw = request.get_data(cache=False)
        verdict = verify_x(raw, request.headers.get(X_SIGNATURE_HEADER), app.consumer_secret)
        if not verdict:
            return refuse("x", 401, verdict.reason)
        return accept(
            "x",
            ingestor,
            raw,
            lambda body, received_at, sha: x.normalize(
                body, accounts=accounts, app=app, received_at=received_at, raw_sha256=sha
            ),
        )

    return blueprint
