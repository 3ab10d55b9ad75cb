"""Inboxes (channel accounts): listed for everyone, configured by admins."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from inbox.api.context import agent, found, transaction
from inbox.api.schemas import InboxChangeSchema, InboxSchema
from inbox.api.security import admin_only
from inbox.repository.agents import AgentRepository
from inbox.repository.canned import InboxRepository

blp = Blueprint("inboxes", __name__, url_prefix="/api/v1/inboxes", description="Inboxes")


@blp.route("")
class Inboxes(MethodView):
    @blp.response(200, InboxSchema(many=True))
    def get(self):
        """Every inbox."""
        with transaction() as connection:
            return InboxRepository(connection).list()


@blp.route("/<uuid:inbox_id>")
class Inbox(MethodView):
    @admin_only
    @blp.arguments(InboxChangeSchema)
    @blp.response(200, InboxSchema)
    def patch(self, body: dict, inbox_id):
        """Rename an inbox, switch round-robin assignment, set its members (admins only)."""
        changes = {**body}
        if "member_ids" in changes:
            changes["member_ids"] = [str(m) for m in changes["member_ids"]]
        with transaction() as connection:
            repository = InboxRepository(connection)
            found(repository.get(str(inbox_id)), "inbox")
            changed = repository.update(str(inbox_id), changes)
            AgentRepository(connection).audit(
                agent()["id"], "inbox_changed", details={"inbox_id": str(inbox_id), **changes}
            )
        return changed
