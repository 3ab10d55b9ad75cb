"""Graph API reply endpoints (channels.md 1.8, 3.1): Send API, comments, Instagram, WhatsApp."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from tests.simulators.replies.faults import graph_body, graph_status, whatsapp_error
from tests.simulators.replies.state import ReplySimulator

blueprint = Blueprint("graph", __name__)
_VERSION = re.compile(r"^v\d+\.\d+$")
_MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}


class GraphError(Exception):
    """Answer with the Graph error body for `code`."""

    def __init__(
        self,
        code: int,
        message: str,
        subcode: int | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        super().__init__(message)
        self.body = graph_body(code, message, subcode, error_type)
        self.status = graph_status(code)


@blueprint.errorhandler(GraphError)
def _graph_error(exc: GraphError) -> tuple[Response, int]:
    return jsonify(exc.body), exc.status


def _sim() -> ReplySimulator:
    return current_app.extensions["reply_simulator"]


def _params() -> dict[str, Any]:
    """Graph reads parameters from the query, a form (JSON-encoded values) or a JSON body."""
    params: dict[str, Any] = request.args.to_dict()
    for key, value in request.form.items():
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    params.update(request.get_json(silent=True) or {})
    return params


def _authorize(tokens: dict[str, str], node: str, params: dict[str, Any]) -> None:
    header = request.headers.get("Authorization", "")
    token = params.get("access_token") or (header[7:] if header.startswith("Bearer ") else None)
    if not token:
        raise GraphError(
            2500, "An active access token must be used to query information about the current user."
        )
    if tokens.get(node) != token:
        raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")


def _check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise GraphError(2500, f"Unknown path components: /{version}")


def _unsupported(node: str, verb: str = "post") -> GraphError:
    return GraphError(
        100,
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        33,
        "GraphMethodException",
    )


@blueprint.post("/<version>/<node>/messages")
def send_message(version: str, node: str) -> tuple[Response, int] | Response:
    """Messenger/Instagram Send API, private replies, and WhatsApp Cloud API messages."""
    _check_version(version)
    params, sim = _params(), _sim()
    if node in sim.whatsapp_tokens:
        _authorize(sim.whatsapp_tokens, node, params)
        return _whatsapp_send(node, params)
    tokens = sim.page_tokens if node in sim.page_tokens else sim.instagram_tokens
    if node not in tokens:
        raise _unsupported(node)
    _authorize(tokens, node, params)
    recipient, message = params.get("recipient"), params.get("message")
    if not isinstance(recipient, dict) or not recipient:
        raise GraphError(100, "(#100) The parameter recipient is required")
    if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
        raise GraphError(
            100, "(#100) Message cannot be empty, must provide valid attachment or text"
        )
    mid = "m_" + secrets.token_urlsafe(48)
    comment_id = recipient.get("comment_id") or recipient.get("post_id")
    if comment_id:
        _private_reply(sim, str(comment_id))
        return jsonify({"recipient_id": sim.next_id(), "message_id": mid})
    psid = recipient.get("id")
    if not isinstance(psid, str) or not psid:
        raise GraphError(100, '(#100) Param recipient[id] must be a valid ID string (e.g., "123")')
    _check_window(sim, node, psid, params)
    return jsonify({"recipient_id": psid, "message_id": mid})


def _check_window(sim: ReplySimulator, node: str, psid: str, params: dict[str, Any]) -> None:
    kind = params.get("messaging_type")
    if kind is None:
        raise GraphError(100, "(#100) The parameter messaging_type is required")
    if kind not in _MESSAGING_TYPES:
        raise GraphError(
            100, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"
        )
    if kind == "MESSAGE_TAG" and not params.get("tag"):
        raise GraphError(100, "(#100) Param tag is required when messaging_type is MESSAGE_TAG")
    last = sim.last_customer_message.get((node, psid))
    human_agent = kind == "MESSAGE_TAG" and params.get("tag") == "HUMAN_AGENT"
    if not (sim.within(last, 24) or (human_agent and sim.within(last, 24 * 7))):
        raise GraphError(10, "(#10) This message is sent outside of allowed window.", 2018278)


def _private_reply(sim: ReplySimulator, comment_id: str) -> None:
    """One private reply per comment, within 7 days (codes 10900/10903 from memory [M])."""
    if comment_id in sim.private_replied:
        raise GraphError(10900, "(#10900) Activity already replied to")
    if not sim.within(sim.comment_times.get(comment_id), 24 * 7):
        raise GraphError(10903, "(#10903) This activity can't be replied to")
    sim.private_replied.add(comment_id)


def _whatsapp_send(node: str, params: dict[str, Any]) -> tuple[Response, int] | Response:
    sim = _sim()
    if params.get("messaging_product") != "whatsapp":
        raise GraphError(100, "(#100) The parameter messaging_product is required.")
    to = params.get("to")
    if not isinstance(to, str) or not to:
        raise GraphError(100, "(#100) The parameter to is required.")
    kind = params.get("type", "text")
    if kind == "text" and not (params.get("text") or {}).get("body"):
        raise GraphError(100, "(#100) The parameter text['body'] is required.")
    if kind != "template" and not sim.within(sim.last_customer_message.get((node, to)), 24):
        fault = whatsapp_error("reengagement_131047")
        return jsonify(fault.body), fault.status
    wamid = "wamid." + base64.b64encode(secrets.token_bytes(27)).decode()
    return jsonify(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        }
    )


@blueprint.post("/<version>/<comment_id>/comments")
def reply_to_comment(version: str, comment_id: str) -> Response:
    """Public reply to a Page comment: `{"id": "<post>_<new comment>"}`."""
    new_id = _comment_reply(version, _sim().page_tokens)
    return jsonify({"id": f"{comment_id.split('_')[0]}_{new_id}"})


@blueprint.post("/<version>/<comment_id>/replies")
def reply_to_instagram_comment(version: str, comment_id: str) -> Response:
    """Instagram comment reply (`?message=`): `{"id": "<new comment id>"}`."""
    return jsonify({"id": _comment_reply(version, _sim().instagram_tokens)})


def _comment_reply(version: str, tokens: dict[str, str]) -> str:
    """Check a comment reply's version, token and message; return the new comment's id."""
    _check_version(version)
    params = _params()
    _authorize_any(tokens, params)
    if not params.get("message"):
        raise GraphError(100, "(#100) The parameter message is required")
    return _sim().next_id()


def _authorize_any(tokens: dict[str, str], params: dict[str, Any]) -> None:
    token = params.get("access_token") or request.headers.get("Authorization", "")[7:]
    match = next((node for node, known in tokens.items() if known == token), None)
    _authorize(tokens, match or "", params)


@blueprint.get("/<version>/<media_id>")
def whatsapp_media_url(version: str, media_id: str) -> Response:
    """Resolve a WhatsApp media id to a short-lived download URL."""
    _check_version(version)
    params, sim = _params(), _sim()
    _authorize_any(sim.whatsapp_tokens, params)
    if media_id not in sim.whatsapp_media:
        raise _unsupported(media_id, "get")
    data, mime = sim.whatsapp_media[media_id]
    return jsonify(
        {
            "messaging_product": "whatsapp",
            "url": f"{request.host_url}graph/media/{media_id}",
            "mime_type": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": len(data),
            "id": media_id,
        }
    )


@blueprint.get("/media/<media_id>")
def whatsapp_media_download(media_id: str) -> Response:
    """Download a WhatsApp media file (the access token is required here too)."""
    sim = _sim()
    _authorize_any(sim.whatsapp_tokens, {})
    if media_id not in sim.whatsapp_media:
        return Response(status=404)
    data, mime = sim.whatsapp_media[media_id]
    return Response(data, content_type=mime)
