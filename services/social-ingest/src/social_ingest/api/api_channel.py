"""The API channel (`/webhooks/api/<source>`): signed JSON from any source, all or nothing.

Unlike the networks' endpoints, a body that does not match the documented schema gets 400
with the reasons, and nothing of it is published: the source is ours to fix.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, abort, request

from social_ingest.accounts import Accounts
from social_ingest.api.acceptance import WEBHOOKS, deliver, error, refuse, unavailable
from social_ingest.ingestion import WebhookIngestor
from social_ingest.normalize import api_channel
from social_ingest.signatures import API_SIGNATURE_HEADER, API_TIMESTAMP_HEADER, verify_api

log = logging.getLogger(__name__)


def api_channel_blueprint(accounts: Accounts, ingestor: WebhookIngestor) -> Blueprint:
    """Build the blueprint taking messages from every configured API source."""
    blueprint = Blueprint("api_channel", __name__, url_prefix="/webhooks/api")

    @blueprint.post("/<name>")
    def messages(name: str):
        """Take one message, or `{"messages": [...]}`, signed with the source's secret."""
        source = accounts.api_sources.get(name)
        if source is None:
            abort(404, f"no API source named {name!r} is configured")
        raw = request.get_data(cache=False)
        verdict = verify_api(
            raw,
            request.headers.get(API_SIGNATURE_HEADER),
            request.headers.get(API_TIMESTAMP_HEADER),
            source.secret,
            now=time.time(),
            tolerance_seconds=source.tolerance_seconds,
        )
        if not verdict:
            return refuse("api", 401, verdict.reason)
        prepared = ingestor.prepare(
            raw,
            f"social-ingest/api/{name}",
            lambda body, received_at, sha: api_channel.normalize(
                body, source=source, received_at=received_at, raw_sha256=sha
            ),
        )
        if prepared.result.skipped:
            try:
                prepared.wait_archived()
            except OSError as exc:
                log.error("api: could not archive the raw body (%s); answering 503", exc)
                return unavailable("api", "cannot archive, retry later")
            WEBHOOKS.labels("api", "invalid").inc()
            return error(
                400,
                "the body does not match the API channel's schema: nothing was accepted",
                errors=[{"where": s.where, "reason": s.reason} for s in prepared.result.skipped],
                raw_sha256=prepared.raw_sha256,
            )
        return deliver("api", ingestor, prepared)

    return blueprint
