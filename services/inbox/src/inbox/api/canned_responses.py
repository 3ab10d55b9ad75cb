"""Canned responses with placeholders for the customer's and the agent's names."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from inbox import canned
from inbox.api.contact_schemas import (
    CannedChangeSchema,
    CannedResponseSchema,
    RenderArgsSchema,
    RenderedSchema,
)
from inbox.api.context import agent, found, transaction
from inbox.api.security import admin_only
from inbox.repository.canned import CannedResponseRepository
from inbox.repository.conversations import ConversationRepository

blp = Blueprint(
    "canned_responses",
    __name__,
    url_prefix="/api/v1/canned-responses",
    description="Canned responses",
)


@blp.route("")
class CannedResponses(MethodView):
    @blp.response(200, CannedResponseSchema(many=True))
    def get(self):
        """Every canned response."""
        with transaction() as connection:
            return CannedResponseRepository(connection).list()

    @blp.arguments(CannedResponseSchema)
    @blp.response(201, CannedResponseSchema)
    def post(self, body: dict):
        """Add a canned response."""
        with transaction() as connection:
            return CannedResponseRepository(connection).create(
                body["shortcut"], body["title"], body["body"], agent()["id"]
            )


@blp.route("/<uuid:canned_id>")
class CannedResponse(MethodView):
    @blp.arguments(CannedChangeSchema)
    @blp.response(200, CannedResponseSchema)
    def patch(self, body: dict, canned_id):
        """Edit a canned response."""
        with transaction() as connection:
            repository = CannedResponseRepository(connection)
            found(repository.get(str(canned_id)), "canned response")
            return repository.update(str(canned_id), body)

    @admin_only
    @blp.response(204)
    def delete(self, canned_id):
        """Delete a canned response (admins only)."""
        with transaction() as connection:
            if not CannedResponseRepository(connection).delete(str(canned_id)):
                abort(404, message="no such canned response")


@blp.route("/<uuid:canned_id>/render")
class Render(MethodView):
    @blp.arguments(RenderArgsSchema, location="query")
    @blp.response(200, RenderedSchema)
    def get(self, args: dict, canned_id):
        """The canned response's text with the placeholders filled for a conversation."""
        with transaction() as connection:
            template = found(CannedResponseRepository(connection).get(str(canned_id)), "canned")
            conversation = found(
                ConversationRepository(connection).get(str(args["conversation_id"])),
                "conversation",
            )
        text = canned.render(
            template["body"], conversation["contact_name"], agent()["display_name"]
        )
        return {"text": text}
