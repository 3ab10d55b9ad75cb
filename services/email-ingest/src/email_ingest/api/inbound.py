"""The inbound endpoints: a raw-MIME pipe for MTAs and the providers' webhooks.

Every endpoint answers 202 only after the raw payload is archived and the event confirmed by
the broker; 503 when the broker is unavailable (the sender retries); 401 for a bad
credential; 413 over the size limit; 400 with a JSON reason for a body that is not email
(406 for Mailgun and 403 for Postmark, the codes that stop their retries).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, abort, jsonify, request

from email_ingest.config import EmailIngestSettings
from email_ingest.errors import NotEmailError
from email_ingest.ingestion import EmailIngestor
from email_ingest.providers import (
    BadCredential,
    postmark_to_mime,
    same_secret,
    sendgrid_recipient,
    verify_mailgun,
)
from email_ingest.replay_guard import ReplayGuard
from switchboard_shared.errors import PublishError

log = logging.getLogger(__name__)

RECIPIENT_HEADER = "X-Switchboard-Recipient"


def inbound_blueprint(
    settings: EmailIngestSettings, ingestor: EmailIngestor, replay_guard: ReplayGuard | None
) -> Blueprint:
    """Build the blueprint serving /inbound/*."""
    blueprint = Blueprint("inbound", __name__, url_prefix="/inbound")

    def accept(
        raw: bytes,
        recipient: str | None,
        not_email_status: int = 400,
        after: Callable[[], None] | None = None,
    ):
        if not raw.strip():
            return _error(not_email_status, "empty body: expected a raw RFC 5322 message")
        try:
            payload = ingestor.ingest(raw, (recipient or settings.default_inbox).strip())
        except NotEmailError as exc:
            sha = ingestor.archive(raw)
            log.warning(
                "rejected a payload that is not email (%s); archived as %s", exc.reason, sha
            )
            return _error(not_email_status, f"not an email: {exc.reason}", raw_sha256=sha)
        except PublishError as exc:
            log.error("broker did not confirm (%s); answering 503 so the sender retries", exc)
            response = _error(503, "broker unavailable, retry later")
            response[0].headers["Retry-After"] = "30"
            return response
        if after is not None:
            after()
        return jsonify(
            status="accepted", message_id=payload["external_id"], raw_sha256=payload["raw_sha256"]
        ), 202

    @blueprint.post("/mime")
    def mime():
        """Take one raw RFC 5322 message from an MTA pipe (bearer token)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_secret(token.strip(), settings.ingress_token):
            return _error(401, "missing or wrong bearer token")
        return accept(request.get_data(cache=False), _pipe_recipient())

    @blueprint.post("/mailgun/mime")
    def mailgun():
        """Take a Mailgun route forward in raw-MIME mode (HMAC signature)."""
        if settings.mailgun_signing_key is None:
            abort(404)
        form = request.form
        token = form.get("token", "")
        try:
            verify_mailgun(
                settings.mailgun_signing_key,
                form.get("timestamp", ""),
                token,
                form.get("signature", ""),
                settings.mailgun_max_age_seconds,
            )
        except BadCredential as exc:
            return _error(401, str(exc))
        if replay_guard is not None and replay_guard.seen(token):
            return _error(401, "Mailgun token already used: a replay")
        raw = form.get("body-mime", "").encode("utf-8", "surrogateescape")
        remember = (lambda: replay_guard.remember(token)) if replay_guard else None
        return accept(raw, form.get("recipient"), not_email_status=406, after=remember)

    @blueprint.post("/sendgrid")
    def sendgrid():
        """Take a SendGrid Inbound Parse post in raw mode (basic auth)."""
        if settings.sendgrid_password is None:
            abort(404)
        if not _basic_auth_ok("sendgrid", settings.sendgrid_password):
            return _error(401, "missing or wrong basic-auth credentials")
        raw = request.form.get("email")
        if raw is None and "email" in request.files:
            raw = request.files["email"].read().decode("utf-8", "surrogateescape")
        if raw is None:
            return _error(400, "no 'email' field: enable 'POST the raw, full MIME message'")
        return accept(
            raw.encode("utf-8", "surrogateescape"), sendgrid_recipient(request.form.get("envelope"))
        )

    @blueprint.post("/postmark")
    def postmark():
        """Take a Postmark inbound webhook (basic auth, JSON)."""
        if settings.postmark_password is None:
            abort(404)
        if not _basic_auth_ok("postmark", settings.postmark_password):
            return _error(401, "missing or wrong basic-auth credentials")
        payload = request.get_json(silent=True)
        try:
            raw, recipient = postmark_to_mime(payload)
        except NotEmailError as exc:
            sha = ingestor.archive(request.get_data())
            log.warning("rejected a Postmark payload (%s); archived as %s", exc.reason, sha)
            return _error(403, f"not an email: {exc.reason}", raw_sha256=sha)
        return accept(raw, recipient, not_email_status=403)

    return blueprint


def _pipe_recipient() -> str | None:
    """The recipient an MTA pipe names: the X-Switchboard-Recipient header, else ?recipient=.

    The header carries the address verbatim; in a URL Postfix's `${recipient}` is not
    encoded, so a `+` in it would arrive as a space.
    """
    value = request.headers.get(RECIPIENT_HEADER)
    if value is None:
        return request.args.get("recipient")
    # WSGI hands header values over as latin-1: an SMTPUTF8 address arrives as UTF-8 bytes.
    return value.encode("latin-1", "replace").decode("utf-8", "replace")


def _basic_auth_ok(user: str, password: str) -> bool:
    auth = request.authorization
    return (
        auth is not None
        and auth.type == "basic"
        and same_secret(auth.username, user) & same_secret(auth.password, password)
    )


def _error(status: int, reason: str, **extra):
    return jsonify(error=reason, **extra), status
