"""SQL of a conversation's messages: reading them, and storing replies and notes."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from inbox.repository.parameters import records

MESSAGE_COLUMNS = (
    "m.id, m.seq, m.conversation_id, m.channel, m.direction, m.visibility, m.external_id,"
    " m.author_contact_id, m.author_agent_id, m.subject, m.text, m.html, m.email_message_id,"
    " m.thread_reason, m.answers_message_id, m.delivery_status, m.delivery_reason,"
    " m.delivery_updated_at, m.flags, m.recipients, m.metadata, m.sent_at, m.received_at,"
    ' m.created_at, m.in_reply_to, m."references", m.split_from'
)


class MessageRepository:
    """Message reads and writes on the caller's connection."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor(row_factory=dict_row)

    def of_conversation(self, conversation_id: str) -> list[dict]:
        """Every message of a conversation in order, with its attachments."""
        messages = self.cursor.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM inbox.messages m"  # noqa: S608 (fixed columns)
            " WHERE m.conversation_id = %s ORDER BY m.seq",
            (conversation_id,),
        ).fetchall()
        return self._with_attachments(messages)

    def of_contact(self, contact_id: str, limit: int, before_seq: int | None) -> list[dict]:
        """A contact's messages across every channel, newest first (their timeline)."""
        messages = self.cursor.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM inbox.messages m"  # noqa: S608 (fixed columns)
            " JOIN inbox.conversations c ON c.id = m.conversation_id"
            " WHERE c.contact_id = %s AND (%s::bigint IS NULL OR m.seq < %s)"
            " ORDER BY m.seq DESC LIMIT %s",
            (contact_id, before_seq, before_seq, limit),
        ).fetchall()
        return self._with_attachments(messages)

    def get(self, message_id: str) -> dict | None:
        """One message."""
        return self.cursor.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM inbox.messages m WHERE m.id = %s",  # noqa: S608
            (message_id,),
        ).fetchone()

    def newer_than(self, conversation_id: str, seq: int, agent_id: str) -> list[dict]:
        """Customer messages, and other agents' replies, after message `seq`."""
        return self._with_attachments(
            self.cursor.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM inbox.messages m"  # noqa: S608 (fixed columns)
                " WHERE m.conversation_id = %s AND m.seq > %s AND (m.direction = 'inbound'"
                " OR (m.direction = 'outbound' AND m.author_agent_id IS DISTINCT FROM %s))"
                " ORDER BY m.seq",
                (conversation_id, seq, agent_id),
            ).fetchall()
        )

    def latest_inbound(self, conversation_id: str) -> dict | None:
        """The customer's latest message in a conversation."""
        return self.cursor.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM inbox.messages m"  # noqa: S608 (fixed columns)
            " WHERE m.conversation_id = %s AND m.direction = 'inbound'"
            " ORDER BY m.seq DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()

    def insert(self, row: dict, attachments: Sequence[dict] = ()) -> dict:
        """Store an agent's reply or note (with attachment references)."""
        columns = list(row)
        placeholders = ", ".join(f"%({c})s" for c in columns)
        values = {k: Jsonb(v) if isinstance(v, dict) else v for k, v in row.items()}
        names = ", ".join(f'"{c}"' for c in columns)
        self.connection.execute(
            f"INSERT INTO inbox.messages ({names}) VALUES ({placeholders})",  # noqa: S608
            values,
        )
        if attachments:
            self.connection.execute(
                "INSERT INTO inbox.attachments (message_id, filename, content_type, size, sha256)"
                " SELECT %s, filename, content_type, size, sha256 FROM jsonb_to_recordset(%s)"
                " AS x(filename text, content_type text, size bigint, sha256 text)",
                (row["id"], records(attachments)),
            )
        return self._with_attachments([self.get(row["id"])])[0]

    def requeue_failed(self, message_id: str) -> dict | None:
        """An agent's retry: a failed reply is queued again."""
        self.connection.execute(
            "UPDATE inbox.messages SET delivery_status = 'queued', delivery_reason = NULL,"
            " delivery_updated_at = now() WHERE id = %s AND delivery_status = 'failed'",
            (message_id,),
        )
        return self.get(message_id)

    def attachment(self, attachment_id: str) -> dict | None:
        """One attachment's record."""
        return self.cursor.execute(
            "SELECT id, message_id, filename, content_type, size, sha256, unavailable_reason"
            " FROM inbox.attachments WHERE id = %s",
            (attachment_id,),
        ).fetchone()

    def _with_attachments(self, messages: list[dict]) -> list[dict]:
        if not messages:
            return messages
        rows = self.cursor.execute(
            "SELECT id, message_id, filename, content_type, size, sha256, inline,"
            " unavailable_reason FROM inbox.attachments WHERE message_id = ANY(%s)",
            ([m["id"] for m in messages],),
        ).fetchall()
        by_message: dict = {}
        for row in rows:
            by_message.setdefault(row.pop("message_id"), []).append(row)
        for message in messages:
            message["attachments"] = by_message.get(message["id"], [])
        return messages
