"""Conversations: the filtered list, the detail, and what agents change about them."""

from __future__ import annotations

from datetime import datetime

from flask.views import MethodView
from flask_smorest import Blueprint

from inbox.api.context import (
    agent,
    decode_keyset,
    encode_cursor,
    found,
    trace_id,
    transaction,
)
from inbox.api.schemas import (
    AssignmentSchema,
    ConversationDetailSchema,
    ConversationListArgsSchema,
    ConversationPageSchema,
    ConversationSchema,
    LabelsSchema,
    MergeSchema,
    PrioritySchema,
    SplitSchema,
    StatusChangeSchema,
)
from inbox.conversation_actions import ConversationActions
from inbox.repository.conversations import ConversationRepository, ListFilter
from inbox.repository.messages import MessageRepository

blp = Blueprint(
    "conversations", __name__, url_prefix="/api/v1/conversations", description="Conversations"
)


@blp.route("")
class Conversations(MethodView):
    @blp.arguments(ConversationListArgsSchema, location="query")
    @blp.response(200, ConversationPageSchema)
    def get(self, args: dict):
        """List conversations, newest activity first, filtered; follow next_cursor for more."""
        cursor = args.get("cursor")
        after = decode_keyset(cursor, datetime.fromisoformat) if cursor else None
        where = ListFilter(
            status=args.get("status"),
            assignee=args.get("assignee"),
            inbox_id=args.get("inbox_id") and str(args["inbox_id"]),
            channel=args.get("channel"),
            label=args.get("label"),
            query=args.get("q"),
        )
        limit = args["limit"]
        with transaction() as connection:
            rows = ConversationRepository(connection).list(
                where, str(agent()["id"]), limit + 1, after
            )
        items, more = rows[:limit], len(rows) > limit
        last = items[-1] if items else None
        cursor = encode_cursor(last["last_activity_at"], last["id"]) if more and last else None
        return {"items": items, "next_cursor": cursor}


@blp.route("/<uuid:conversation_id>")
class Conversation(MethodView):
    @blp.response(200, ConversationDetailSchema)
    def get(self, conversation_id):
        """A conversation with its messages, notes, attachments, delivery states and reasons."""
        with transaction() as connection:
            conversation = found(
                ConversationRepository(connection).get(str(conversation_id)), "conversation"
            )
            conversation["messages"] = MessageRepository(connection).of_conversation(
                str(conversation_id)
            )
        return conversation

    @blp.arguments(PrioritySchema)
    @blp.response(200, ConversationSchema)
    def patch(self, body: dict, conversation_id):
        """Change the priority."""
        with transaction() as connection:
            actions = ConversationActions(connection, agent(), trace_id())
            return actions.set_priority(str(conversation_id), body["priority"])


@blp.route("/<uuid:conversation_id>/assignment")
class Assignment(MethodView):
    @blp.arguments(AssignmentSchema)
    @blp.response(200, ConversationSchema)
    def put(self, body: dict, conversation_id):
        """Assign the conversation to an agent, or unassign it."""
        assignee = body["assignee_id"] and str(body["assignee_id"])
        with transaction() as connection:
            return ConversationActions(connection, agent(), trace_id()).assign(
                str(conversation_id), assignee
            )


@blp.route("/<uuid:conversation_id>/status")
class Status(MethodView):
    @blp.arguments(StatusChangeSchema)
    @blp.response(200, ConversationSchema)
    def put(self, body: dict, conversation_id):
        """Open, mark pending, resolve, or snooze until a time."""
        with transaction() as connection:
            return ConversationActions(connection, agent(), trace_id()).set_status(
                str(conversation_id), body["status"], body["snoozed_until"]
            )


@blp.route("/<uuid:conversation_id>/labels")
class Labels(MethodView):
    @blp.arguments(LabelsSchema)
    @blp.response(200, ConversationSchema)
    def put(self, body: dict, conversation_id):
        """Replace the labels."""
        with transaction() as connection:
            return ConversationActions(connection, agent(), trace_id()).set_labels(
                str(conversation_id), body["labels"]
            )


@blp.route("/<uuid:conversation_id>/merge")
class Merge(MethodView):
    @blp.arguments(MergeSchema)
    @blp.response(200, ConversationSchema)
    def post(self, body: dict, conversation_id):
        """Merge another conversation of the same contact into this one."""
        with transaction() as connection:
            return ConversationActions(connection, agent(), trace_id()).merge(
                str(conversation_id), str(body["source_id"])
            )


@blp.route("/<uuid:conversation_id>/split")
class Split(MethodView):
    @blp.arguments(SplitSchema)
    @blp.response(201, ConversationSchema)
    def post(self, body: dict, conversation_id):
        """Move messages out into a new conversation; answers the new one."""
        with transaction() as connection:
            return ConversationActions(connection, agent(), trace_id()).split(
                str(conversation_id), [str(m) for m in body["message_ids"]]
            )
