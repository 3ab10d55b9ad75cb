"""Signing in and out of the web inbox, and the agent's own API tokens."""

from __future__ import annotations

from flask import g, session
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from inbox.api.context import agent, transaction
from inbox.api.schemas import LoginSchema, NewTokenSchema, SessionSchema, TokenSchema
from inbox.credentials import new_api_token, new_csrf_token, token_digest, verify_password
from inbox.repository.agents import AgentRepository

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sessions and API tokens")


@blp.route("/session")
class Session(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginSchema)
    @blp.response(200, SessionSchema)
    def post(self, credentials: dict):
        """Sign in with email and password; the cookie and CSRF token are for the web inbox."""
        with transaction() as connection:
            found = AgentRepository(connection).by_email(credentials["email"])
        password_hash = found.pop("password_hash") if found else None
        if not verify_password(password_hash, credentials["password"]) or not found["active"]:
            abort(401, message="wrong email or password")
        session.clear()
        session.permanent = True
        session["agent_id"] = str(found["id"])
        session["csrf"] = new_csrf_token()
        return {"agent": found, "csrf_token": session["csrf"]}

    @blp.response(204)
    def delete(self):
        """Sign out."""
        session.clear()

    @blp.response(200, SessionSchema)
    def get(self):
        """The signed-in agent (and the session's CSRF token)."""
        return {"agent": agent(), "csrf_token": session.get("csrf") if g.via == "session" else None}


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """Your API tokens (without the tokens themselves)."""
        with transaction() as connection:
            return AgentRepository(connection).tokens(agent()["id"])

    @blp.arguments(NewTokenSchema)
    @blp.response(201, TokenSchema)
    def post(self, body: dict):
        """Create an API token for yourself; it is shown this once."""
        token = new_api_token()
        with transaction() as connection:
            repository = AgentRepository(connection)
            record = repository.add_token(agent()["id"], body["name"], token_digest(token))
            repository.audit(agent()["id"], "token_created", details={"name": body["name"]})
        return {**record, "token": token}


@blp.route("/tokens/<uuid:token_id>")
class Token(MethodView):
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of your API tokens."""
        with transaction() as connection:
            if not AgentRepository(connection).revoke_token(agent()["id"], str(token_id)):
                abort(404, message="no such token")
