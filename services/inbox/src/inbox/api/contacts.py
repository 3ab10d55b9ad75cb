"""Contacts: profiles, identities, the timeline across channels, notes, merge and undo."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from inbox import contact_actions
from inbox.api.contact_schemas import (
    ContactChangeSchema,
    ContactListArgsSchema,
    ContactMergeSchema,
    ContactPageSchema,
    ContactSchema,
    TimelineArgsSchema,
    TimelineSchema,
)
from inbox.api.context import agent, decode_keyset, encode_cursor, found, transaction
from inbox.api.schemas import MergeSchema
from inbox.repository.agents import AgentRepository
from inbox.repository.contacts import ContactRepository
from inbox.repository.messages import MessageRepository

blp = Blueprint("contacts", __name__, url_prefix="/api/v1", description="Contacts")


@blp.route("/contacts")
class Contacts(MethodView):
    @blp.arguments(ContactListArgsSchema, location="query")
    @blp.response(200, ContactPageSchema)
    def get(self, args: dict):
        """List contacts by name, optionally searching names, emails and identities."""
        cursor = args.get("cursor")
        after = decode_keyset(cursor, str) if cursor else None
        limit = args["limit"]
        with transaction() as connection:
            rows = ContactRepository(connection).list(args.get("q"), limit + 1, after)
        items = rows[:limit]
        cursor = None
        if len(rows) > limit:
            cursor = encode_cursor(items[-1]["display_name"] or "", items[-1]["id"])
        return {"items": items, "next_cursor": cursor}


@blp.route("/contacts/<uuid:contact_id>")
class Contact(MethodView):
    @blp.response(200, ContactSchema)
    def get(self, contact_id):
        """A contact's profile and identities."""
        with transaction() as connection:
            return found(ContactRepository(connection).get(str(contact_id)), "contact")

    @blp.arguments(ContactChangeSchema)
    @blp.response(200, ContactSchema)
    def patch(self, body: dict, contact_id):
        """Edit the contact's name or the notes about the customer."""
        with transaction() as connection:
            repository = ContactRepository(connection)
            found(repository.get(str(contact_id)), "contact")
            repository.update(str(contact_id), body)
            AgentRepository(connection).audit(
                agent()["id"], "contact_changed", contact_id=str(contact_id), details=body
            )
            return repository.get(str(contact_id))


@blp.route("/contacts/<uuid:contact_id>/timeline")
class Timeline(MethodView):
    @blp.arguments(TimelineArgsSchema, location="query")
    @blp.response(200, TimelineSchema)
    def get(self, args: dict, contact_id):
        """The customer's whole history across channels, newest first."""
        limit = args["limit"]
        with transaction() as connection:
            found(ContactRepository(connection).get(str(contact_id)), "contact")
            rows = MessageRepository(connection).of_contact(
                str(contact_id), limit + 1, args.get("before")
            )
        items = rows[:limit]
        return {"items": items, "next_before": items[-1]["seq"] if len(rows) > limit else None}


@blp.route("/contacts/<uuid:contact_id>/merge")
class ContactMerge(MethodView):
    @blp.arguments(MergeSchema)
    @blp.response(201, ContactMergeSchema)
    def post(self, body: dict, contact_id):
        """Merge another contact into this one: one person, one timeline (undoable)."""
        with transaction() as connection:
            return contact_actions.merge_contacts(
                connection, agent(), str(contact_id), str(body["source_id"])
            )


@blp.route("/contact-merges/<uuid:merge_id>/undo")
class UndoMerge(MethodView):
    @blp.response(200, ContactMergeSchema)
    def post(self, merge_id):
        """Undo a contact merge."""
        with transaction() as connection:
            return contact_actions.undo_merge(connection, agent(), str(merge_id))
