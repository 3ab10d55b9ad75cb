"""SQL of conversations for the API: the filtered list, the detail, and agents' changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

CONVERSATION_COLUMNS = sql.SQL(
    "c.id, c.token, c.inbox_id, i.address AS inbox_address, i.name AS inbox_name, c.channel,"
    " c.contact_id, ct.display_name AS contact_name, ct.email AS contact_email, c.status,"
    " c.snoozed_until, c.assignee_id, c.priority, c.labels, c.subject, c.context,"
    " c.participants, c.merged_into, c.split_from, c.last_activity_at, c.last_inbound_at,"
    " c.first_response_at, c.resolved_at, c.created_at, c.updated_at"
)
_FROM = sql.SQL(
    " FROM inbox.conversations c JOIN inbox.inboxes i ON i.id = c.inbox_id"
    " JOIN inbox.contacts ct ON ct.id = c.contact_id"
)


@dataclass(frozen=True)
class ListFilter:
    """What the conversation list is narrowed to; None means any."""

    status: str | None = None
    assignee: str | None = None  # "me", "unassigned", "anyone" or an agent id
    inbox_id: str | None = None
    channel: str | None = None
    label: str | None = None
    query: str | None = None
    contact_id: str | None = None


class ConversationRepository:
    """Conversation reads and writes on the caller's connection."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor(row_factory=dict_row)

    def list(
        self,
        where: ListFilter,
        agent_id: str,
        limit: int,
        after: tuple[datetime, str] | None = None,
    ) -> list[dict]:
        """One page, newest activity first, after the keyset `(last_activity_at, id)`."""
        conditions = [sql.SQL("c.merged_into IS NULL")]
        values: list = []

        def add(condition: str, *args) -> None:
            conditions.append(sql.SQL(condition))
            values.extend(args)

        if where.status == "snoozed":
            add("c.status = 'snoozed'")
        elif where.status:
            add("c.status = %s", where.status)
        if where.assignee == "me":
            add("c.assignee_id = %s", agent_id)
        elif where.assignee == "unassigned":
            add("c.assignee_id IS NULL")
        elif where.assignee not in (None, "anyone"):
            add("c.assignee_id = %s", where.assignee)
        if where.inbox_id:
            add("c.inbox_id = %s", where.inbox_id)
        if where.channel:
            add("c.channel = %s", where.channel)
        if where.label:
            add("c.labels @> ARRAY[%s]", where.label)
        if where.contact_id:
            add("c.contact_id = %s", where.contact_id)
        if where.query:
            add(
                "c.id IN (SELECT m.conversation_id FROM inbox.messages m"
                " WHERE m.search_vector @@ websearch_to_tsquery('simple', %s))",
                where.query,
            )
        if after is not None:
            add("(c.last_activity_at, c.id) < (%s, %s)", *after)
        query = sql.SQL("SELECT {}{} WHERE {} ORDER BY c.last_activity_at DESC, c.id DESC LIMIT %s")
        statement = query.format(CONVERSATION_COLUMNS, _FROM, sql.SQL(" AND ").join(conditions))
        return self.cursor.execute(statement, [*values, limit]).fetchall()

    def get(self, conversation_id: str, lock: bool = False) -> dict | None:
        """One conversation (locked for the transaction when `lock`)."""
        statement = sql.SQL("SELECT {}{} WHERE c.id = %s{}").format(
            CONVERSATION_COLUMNS, _FROM, sql.SQL(" FOR UPDATE OF c" if lock else "")
        )
        return self.cursor.execute(statement, (conversation_id,)).fetchone()

    def update(self, conversation_id: str, **changes) -> None:
        """Set columns of a conversation (names come from the code, values are parameters)."""
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(column)) for column in changes
        )
        self.connection.execute(
            sql.SQL("UPDATE inbox.conversations SET {}, updated_at = now() WHERE id = %s").format(
                assignments
            ),
            [*changes.values(), conversation_id],
        )

    def set_status(self, conversation_id: str, status: str, snoozed_until: datetime | None) -> None:
        """Change the status; resolving stamps resolved_at, anything else clears it."""
        self.connection.execute(
            "UPDATE inbox.conversations SET status = %(status)s,"
            " snoozed_until = CASE WHEN %(status)s = 'snoozed' THEN %(until)s::timestamptz END,"
            " resolved_at = CASE WHEN %(status)s = 'resolved' THEN now() END, updated_at = now()"
            " WHERE id = %(id)s",
            {"status": status, "until": snoozed_until, "id": conversation_id},
        )

    def merge(self, target: dict, source: dict) -> int:
        """Move the source's messages into the target and close the source; return how many."""
        moved = self.connection.execute(
            "UPDATE inbox.messages SET conversation_id = %s WHERE conversation_id = %s",
            (target["id"], source["id"]),
        ).rowcount
        self.connection.execute(
            "UPDATE inbox.conversations SET merged_into = %s, status = 'resolved',"
            " resolved_at = now(), thread_key = NULL, updated_at = now() WHERE id = %s",
            (target["id"], source["id"]),
        )
        self.connection.execute(
            "UPDATE inbox.conversations SET"
            " labels = ARRAY(SELECT DISTINCT l FROM unnest(labels || %s::text[]) AS l),"
            " participants = ARRAY(SELECT DISTINCT p FROM unnest(participants || %s::text[]) p),"
            " last_activity_at = greatest(last_activity_at, %s), updated_at = now()"
            " WHERE id = %s",
            (source["labels"], source["participants"], source["last_activity_at"], target["id"]),
        )
        return moved

    def split(self, source: dict, message_ids: list[str], new_id: str, token: str) -> int:
        """Move messages of `source` into a new conversation; return how many moved."""
        self.connection.execute(
            "INSERT INTO inbox.conversations (id, token, inbox_id, channel, contact_id, subject,"
            " participants, split_from, assignee_id, context, last_activity_at)"
            " SELECT %s, %s, inbox_id, channel, contact_id,"
            " (SELECT m.subject FROM inbox.messages m WHERE m.id = ANY(%s::uuid[])"
            "  ORDER BY m.seq LIMIT 1), participants, id, assignee_id, context,"
            " (SELECT max(m.sent_at) FROM inbox.messages m WHERE m.id = ANY(%s::uuid[]))"
            " FROM inbox.conversations WHERE id = %s",
            (new_id, token, message_ids, message_ids, source["id"]),
        )
        return self.connection.execute(
            "UPDATE inbox.messages SET conversation_id = %s, split_from = %s"
            " WHERE conversation_id = %s AND id = ANY(%s::uuid[])",
            (new_id, source["id"], source["id"], message_ids),
        ).rowcount
