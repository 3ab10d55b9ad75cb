"""Authentication for every API request: a web session (with CSRF) or a bearer API token.

Sessions are signed cookies holding the agent id and a CSRF token; a request that changes
something under a session must echo that token in `X-CSRF-Token`. Bearer tokens are looked
up by their sha256. Admin-only endpoints are marked with `admin_only`.
"""

from __future__ import annotations

import functools
import hmac

from flask import g, request, session
from flask_smorest import abort

from inbox.api.context import transaction
from inbox.credentials import token_digest
from inbox.repository.agents import AgentRepository

API_PREFIX = "/api/v1/"
# Reachable without signing in: signing in itself.
PUBLIC_ENDPOINTS = {("POST", "/api/v1/session")}
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "X-CSRF-Token"


def authenticate() -> None:
    """The before-request hook: every /api/v1/ request needs an agent, or it gets 401."""
    if not request.path.startswith(API_PREFIX) or request.method == "OPTIONS":
        return
    if (request.method, request.path.rstrip("/")) in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        with transaction() as connection:
            found = AgentRepository(connection).by_token(token_digest(header[7:].strip()))
        if found is None:
            abort(401, message="invalid or revoked API token")
        g.agent, g.via = found, "token"
        return
    agent_id = session.get("agent_id")
    if agent_id is None:
        abort(401, message="sign in or send a bearer API token")
    with transaction() as connection:
        found = AgentRepository(connection).by_id(agent_id)
    if found is None or not found["active"]:
        session.clear()
        abort(401, message="your session has ended")
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(403, message=f"missing or wrong {CSRF_HEADER}")
    g.agent, g.via = found, "session"


def admin_only(view):
    """Allow a view to admins only (403 for agents)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.agent["role"] != "admin":
            abort(403, message="admins only")
        return view(*args, **kwargs)

    return wrapper
