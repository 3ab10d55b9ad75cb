"""X v2 reply endpoints (channels.md 2.4, 2.5): posts and DMs, with rate-limit headers."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, g, jsonify, request

from tests.simulators.replies.faults import x_problem, x_rate_limited
from tests.simulators.replies.state import ReplySimulator

blueprint = Blueprint("x", __name__)
_OAUTH_TOKEN = re.compile(r'oauth_token="([^"]+)"')
_INVALID = "https://api.x.com/2/problems/invalid-request"


class ProblemError(Exception):
    """Answer with an X problem-details body."""

    def __init__(self, status: int, title: str, detail: str, problem: str = "about:blank") -> None:
        super().__init__(detail)
        self.fault = x_problem(status, title, detail, problem)


@blueprint.errorhandler(ProblemError)
def _problem(exc: ProblemError) -> tuple[Response, int]:
    return jsonify(exc.fault.body), exc.fault.status


def _sim() -> ReplySimulator:
    return current_app.extensions["reply_simulator"]


def _user() -> tuple[str, str]:
    """The (token, user id) of the user context: OAuth 2.0 Bearer or OAuth 1.0a header.

    OAuth 1.0a signatures are not verified: the simulator only checks the token is known.
    """
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else None
    if header.startswith("OAuth "):
        found = _OAUTH_TOKEN.search(header)
        token = found.group(1) if found else None
    user = _sim().x_tokens.get(token or "")
    if user is None:
        raise ProblemError(401, "Unauthorized", "Unauthorized")
    return token or "", user


@blueprint.before_request
def count_rate_limit() -> tuple[Response, int] | None:
    """Every call counts against a 15-minute window; past the limit, 429 (problem form)."""
    header = request.headers.get("Authorization", "")
    limit, remaining, reset = _sim().x_quota(
        request.url_rule.rule if request.url_rule else request.path, header
    )
    g.x_rate = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(max(remaining, 0)),
        "x-rate-limit-reset": str(reset),
    }
    if remaining < 0:
        fault = x_rate_limited(reset, "problem", limit)
        return jsonify(fault.body), 429
    return None


@blueprint.after_request
def add_rate_limit_headers(response: Response) -> Response:
    """X sends the three x-rate-limit headers on every response."""
    for name, value in getattr(g, "x_rate", {}).items():
        response.headers.setdefault(name, value)
    return response


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ProblemError(
            400, "Invalid Request", "The request body must be a JSON object.", _INVALID
        )
    return body


@blueprint.post("/2/tweets")
def create_tweet() -> tuple[Response, int]:
    """Post (a reply): 201 `{"data": {"id", "text"}}`; 403 when the author did not summon us."""
    _user()
    body, sim = _body(), _sim()
    text = body.get("text")
    if not (isinstance(text, str) and text) and not body.get("media"):
        raise ProblemError(
            400, "Invalid Request", "One or more parameters to your request was invalid.", _INVALID
        )
    reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
    if reply_to is not None and sim.x_summoned is not None and reply_to not in sim.x_summoned:
        raise ProblemError(
            403,
            "Forbidden",
            "Reply to this conversation is not allowed because you have not been mentioned or "
            "otherwise engaged by the author of the post you are replying to.",
        )
    return jsonify({"data": {"id": sim.next_id(), "text": text}}), 201


@blueprint.post("/2/dm_conversations/with/<participant_id>/messages")
def create_dm(participant_id: str) -> tuple[Response, int]:
    """DM a user: 201 `{"data": {"dm_conversation_id", "dm_event_id"}}`."""
    _, user = _user()
    body, sim = _body(), _sim()
    if not body.get("text") and not body.get("attachments"):
        raise ProblemError(
            400, "Invalid Request", "One of text or attachments is required.", _INVALID
        )
    if participant_id in sim.x_dm_closed:
        raise ProblemError(
            403, "Forbidden", "You are not permitted to send a Direct Message to this user."
        )
    low, high = sorted((user, participant_id), key=lambda i: (len(i), i))
    return jsonify(
        {"data": {"dm_conversation_id": f"{low}-{high}", "dm_event_id": sim.next_id()}}
    ), 201
