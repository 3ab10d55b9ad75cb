"""Meta webhooks: Messenger, Facebook Page feed and Instagram (`/webhooks/meta/<app>`) and
WhatsApp Cloud API (`/webhooks/whatsapp/<app>`), one callback URL per Meta app."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from social_ingest.accounts import Accounts, MetaApp
from social_ingest.api.acceptance import accept, refuse
from social_ingest.ingestion import WebhookIngestor
from social_ingest.normalize import meta, whatsapp
from social_ingest.signatures import META_SIGNATURE_HEADER, meta_challenge, verify_meta

_NORMALIZERS = {"meta": meta.normalize, "whatsapp": whatsapp.normalize}


def meta_blueprint(network: str, accounts: Accounts, ingestor: WebhookIngestor) -> Blueprint:
    """Build the blueprint of `network` ("meta" or "whatsapp"): same handshake, same signature."""
    normalize = _NORMALIZERS[network]
    blueprint = Blueprint(network, __name__, url_prefix=f"/webhooks/{network}")

    def app_named(name: str) -> MetaApp:
        app = accounts.meta_apps.get(name)
        if app is None:
            abort(404, f"no Meta app named {name!r} is configured")
        return app

    @blueprint.get("/<name>")
    def verify(name: str):
        """Answer Meta's verification handshake with the bare `hub.challenge`."""
        challenge = meta_challenge(request.args, app_named(name).verify_token)
        if challenge is None:
            return refuse(network, 403, "hub.mode or hub.verify_token is wrong")
        return Response(challenge, 200, mimetype="text/plain")

    @blueprint.post("/<name>")
    def events(name: str):
        """Take one signed delivery: every entry, message, change and status in it."""
        app = app_named(name)
        raw = request.get_data(cache=False)
        verdict = verify_meta(raw, request.headers.get(META_SIGNATURE_HEADER), app.app_secret)
        if not verdict:
            return refuse(network, 401, verdict.reason)
        return accept(
            network,
            ingestor,
            raw,
            lambda body, received_at, sha: normalize(
                body, accounts=accounts, app=app, received_at=received_at, raw_sha256=sha
            ),
        )

    return blueprint
