"""How every webhook endpoint answers: 200 once confirmed, 503 when the broker is not there.

The bodies are JSON for people reading logs and for API-channel clients; the networks only
look at the status. 200 also answers a body that produced nothing usable (malformed JSON, an
unknown event kind): it is archived and logged, and a network retrying it would only send
the same bytes again, for up to days.
"""

from __future__ import annotations

import logging

from flask import Response, jsonify
from prometheus_client import Counter

from social_ingest.ingestion import Delivered, Normalizer, Prepared, WebhookIngestor
from switchboard_shared.errors import PublishError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30

WEBHOOKS = Counter(
    "switchboard_social_webhooks_total",
    "Webhook requests by network and outcome",
    ["network", "outcome"],
)


def error(status: int, reason: str, **extra: object) -> tuple[Response, int]:
    """A JSON error: `{"error": reason, ...}`."""
    return jsonify(error=reason, **extra), status


def refuse(network: str, status: int, reason: str) -> tuple[Response, int]:
    """Answer a request that is not a genuine delivery (bad signature, wrong token)."""
    WEBHOOKS.labels(network, "refused").inc()
    log.warning("%s: refused a request with %d: %s", network, status, reason)
    return error(status, reason)


def accept(
    network: str, ingestor: WebhookIngestor, raw: bytes, normalize: Normalizer
) -> tuple[Response, int]:
    """Archive, normalize and publish a genuine delivery; answer 200, or 503 to be retried."""
    return deliver(network, ingestor, ingestor.prepare(raw, f"social-ingest/{network}", normalize))


def deliver(network: str, ingestor: WebhookIngestor, prepared: Prepared) -> tuple[Response, int]:
    """Publish a prepared delivery and answer for it."""
    try:
        delivered = ingestor.deliver(prepared)
    except PublishError as exc:
        log.error(
            "%s: broker did not confirm (%s); answering 503 so the network redelivers",
            network,
            exc,
        )
        return unavailable(network, "broker unavailable, retry later")
    except OSError as exc:
        log.error("%s: could not archive the raw body (%s); answering 503", network, exc)
        return unavailable(network, "cannot archive, retry later")
    WEBHOOKS.labels(network, "accepted").inc()
    return jsonify(summary(delivered)), 200


def unavailable(network: str, reason: str) -> tuple[Response, int]:
    """503 with Retry-After: the network keeps the delivery and sends it again."""
    WEBHOOKS.labels(network, "unavailable").inc()
    response, status = error(503, reason)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def summary(delivered: Delivered) -> dict:
    """The JSON body of a 200: what the delivery became."""
    return {
        "status": "accepted",
        "raw_sha256": delivered.raw_sha256,
        "messages": delivered.messages,
        "statuses": delivered.statuses,
        "skipped": [{"where": s.where, "reason": s.reason} for s in delivered.skipped],
    }
