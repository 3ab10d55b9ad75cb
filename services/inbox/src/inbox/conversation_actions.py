"""What agents do to conversations: assign, change status or snooze, label, merge, split.

Each action runs in the caller's transaction, writes the audit log and a
`conversation.changed` outbox row, and returns the conversation as it now is.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg

from inbox import changes
from inbox.conversation_matching import new_token
from inbox.errors import Invalid, NotFound
from inbox.repository.agents import AgentRepository
from inbox.repository.conversations import ConversationRepository
from inbox.repository.outbox import OutboxRepository


class ConversationActions:
    """The actions of one agent, on one connection in a transaction."""

    def __init__(self, connection: psycopg.Connection, agent: dict, trace_id: str) -> None:
        self.connection = connection
        self.agent = agent
        self.trace_id = trace_id
        self.conversations = ConversationRepository(connection)
        self.agents = AgentRepository(connection)

    def assign(self, conversation_id: str, assignee_id: str | None) -> dict:
        """Assign to an agent, or unassign with None."""
        self._locked(conversation_id)
        if assignee_id is not None:
            assignee = self.agents.by_id(assignee_id)
            if assignee is None or not assignee["active"]:
                raise Invalid("no such active agent to assign")
        self.conversations.update(conversation_id, assignee_id=assignee_id)
        return self._done(conversation_id, "assigned", {"assignee_id": assignee_id})

    def set_status(
        self, conversation_id: str, status: str, snoozed_until: datetime | None = None
    ) -> dict:
        """Open, mark pending, resolve, or snooze until a time (it reopens by itself then)."""
        self._locked(conversation_id)
        due = snoozed_until is None or snoozed_until <= datetime.now(UTC)
        if status == "snoozed" and due:
            raise Invalid("snoozing needs a snoozed_until in the future")
        self.conversations.set_status(conversation_id, status, snoozed_until)
        return self._done(
            conversation_id,
            "status_changed",
            {"status": status, "snoozed_until": snoozed_until and snoozed_until.isoformat()},
        )

    def set_labels(self, conversation_id: str, labels: list[str]) -> dict:
        """Replace the labels."""
        self._locked(conversation_id)
        cleaned = sorted({label.strip() for label in labels if label.strip()})
        self.conversations.update(conversation_id, labels=cleaned)
        return self._done(conversation_id, "labels_changed", {"labels": cleaned})

    def set_priority(self, conversation_id: str, priority: str) -> dict:
        """Change the priority."""
        self._locked(conversation_id)
        self.conversations.update(conversation_id, priority=priority)
        return self._done(conversation_id, "status_changed", {"priority": priority})

    def merge(self, target_id: str, source_id: str) -> dict:
        """Move every message of `source_id` into `target_id`; the source is closed."""
        if target_id == source_id:
            raise Invalid("a conversation cannot be merged into itself")
        # Lock both in one order, so two opposite merges cannot deadlock.
        first, second = sorted([target_id, source_id])
        locked = {first: self._locked(first), second: self._locked(second)}
        target, source = locked[target_id], locked[source_id]
        if str(target["contact_id"]) != str(source["contact_id"]):
            raise Invalid("only conversations of the same contact can be merged (merge contacts)")
        moved = self.conversations.merge(target, source)
        self._announce(source_id, "merged")
        return self._done(target_id, "merged", {"source_id": source_id, "messages": moved})

    def split(self, conversation_id: str, message_ids: list[str]) -> dict:
        """Move some messages into a new conversation of the same contact; return it."""
        source = self._locked(conversation_id)
        new_id = str(uuid.uuid4())
        moved = self.conversations.split(source, message_ids, new_id, new_token())
        if moved != len(set(message_ids)):
            raise Invalid("every message to split out must belong to this conversation")
        self._announce(conversation_id, "split")
        return self._done(new_id, "split", {"from": conversation_id, "messages": message_ids})

    def _locked(self, conversation_id: str) -> dict:
        conversation = self.conversations.get(conversation_id, lock=True)
        if conversation is None or conversation["merged_into"] is not None:
            raise NotFound("no such conversation")
        return conversation

    def _done(self, conversation_id: str, change: str, details: dict) -> dict:
        self.agents.audit(
            self.agent["id"], change, conversation_id=conversation_id, details=details
        )
        return self._announce(conversation_id, change)

    def _announce(self, conversation_id: str, change: str) -> dict:
        conversation = self.conversations.get(conversation_id)
        OutboxRepository(self.connection).add(
            [
                changes.conversation_changed(
                    conversation_id,
                    change,
                    trace_id=self.trace_id,
                    inbox=conversation["inbox_address"],
                    channel=conversation["channel"],
                    status=conversation["status"],
                    assignee_id=conversation["assignee_id"] and str(conversation["assignee_id"]),
                )
            ]
        )
        return conversation
