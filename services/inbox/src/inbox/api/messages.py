"""Replies and notes in a conversation, and retrying a failed reply."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from inbox import replying
from inbox.api.context import agent, settings, trace_id, transaction
from inbox.api.schemas import MessageSchema, NoteSchema, ReplySchema

blp = Blueprint(
    "messages", __name__, url_prefix="/api/v1/conversations", description="Replies and notes"
)


@blp.route("/<uuid:conversation_id>/replies")
class Replies(MethodView):
    @blp.arguments(ReplySchema)
    @blp.response(201, MessageSchema)
    def post(self, body: dict, conversation_id):
        """Reply to the customer; 409 lists what arrived since the message you answered."""
        request = replying.ReplyRequest(
            text=body["text"],
            html=body["html"],
            visibility=body["visibility"],
            answers_message_id=body["answers_message_id"] and str(body["answers_message_id"]),
            confirm=body["confirm"],
            attachments=[
                {k: a.get(k) for k in ("filename", "content_type", "size", "sha256")}
                for a in body["attachments"]
            ],
        )
        with transaction() as connection:
            return replying.reply(
                connection,
                agent(),
                str(conversation_id),
                request,
                settings().email_domain,
                trace_id(),
            )


@blp.route("/<uuid:conversation_id>/notes")
class Notes(MethodView):
    @blp.arguments(NoteSchema)
    @blp.response(201, MessageSchema)
    def post(self, body: dict, conversation_id):
        """Add an internal note (never sent to the customer)."""
        with transaction() as connection:
            return replying.add_note(
                connection, agent(), str(conversation_id), body["text"], trace_id()
            )
