"""SQL of contacts: list and profile, notes, and merges that can be undone."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from inbox.identity import IdentityKey

_COLUMNS = "id, display_name, email, notes, merged_into, created_at, updated_at"


class ContactRepository:
    """Contact reads and writes on the caller's connection."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor(row_factory=dict_row)

    def list(self, query: str | None, limit: int, after: tuple[str, str] | None) -> list[dict]:
        """Contacts by name, optionally matching `query` in name, email or any identity."""
        return self.cursor.execute(
            f"SELECT {_COLUMNS} FROM inbox.contacts c WHERE c.merged_into IS NULL"  # noqa: S608
            " AND (%(q)s::text IS NULL OR c.display_name ILIKE %(like)s OR c.email ILIKE %(like)s"
            "  OR EXISTS (SELECT 1 FROM inbox.contact_identities i WHERE i.contact_id = c.id"
            "  AND (i.value ILIKE %(like)s OR i.handle ILIKE %(like)s)))"
            " AND (%(after_name)s::text IS NULL OR (coalesce(c.display_name, ''), c.id)"
            "  > (%(after_name)s, %(after_id)s::uuid))"
            " ORDER BY coalesce(c.display_name, ''), c.id LIMIT %(limit)s",
            {
                "q": query,
                "like": f"%{query}%" if query else None,
                "after_name": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit,
            },
        ).fetchall()

    def get(self, contact_id: str) -> dict | None:
        """A contact with its identities."""
        contact = self.cursor.execute(
            f"SELECT {_COLUMNS} FROM inbox.contacts WHERE id = %s",  # noqa: S608
            (contact_id,),
        ).fetchone()
        if contact is not None:
            contact["identities"] = self.cursor.execute(
                "SELECT id, kind, scope, value, handle, display_name, created_at"
                " FROM inbox.contact_identities WHERE contact_id = %s ORDER BY created_at",
                (contact_id,),
            ).fetchall()
        return contact

    def update(self, contact_id: str, changes: dict) -> None:
        """Change the display name or the notes about the customer."""
        for column in ("display_name", "notes"):
            if column in changes:
                self.connection.execute(
                    f"UPDATE inbox.contacts SET {column} = %s, updated_at = now()"  # noqa: S608
                    " WHERE id = %s",
                    (changes[column], contact_id),
                )

    def identity_keys(self, contact_ids: list[str]) -> list[IdentityKey]:
        """The identities of these contacts (to take the worker's locks on them)."""
        rows = self.connection.execute(
            "SELECT kind, scope, value FROM inbox.contact_identities WHERE contact_id = ANY(%s)",
            (contact_ids,),
        )
        return [IdentityKey(*row) for row in rows]

    def merge(self, target_id: str, source_id: str, agent_id: str) -> dict:
        """Move the source's identities, conversations and messages to the target."""
        c = self.connection
        detached = dict(
            c.execute(
                "UPDATE inbox.conversations s SET thread_key = NULL FROM inbox.conversations t"
                " WHERE s.contact_id = %(source)s AND t.contact_id = %(target)s"
                " AND s.inbox_id = t.inbox_id AND s.thread_key = t.thread_key"
                " AND s.status <> 'resolved' AND t.status <> 'resolved'"
                " AND s.merged_into IS NULL AND t.merged_into IS NULL"
                " RETURNING s.id::text, t.thread_key",
                {"source": source_id, "target": target_id},
            ).fetchall()
        )
        moved = {}
        for table, column in (
            ("contact_identities", "contact_id"),
            ("conversations", "contact_id"),
            ("messages", "author_contact_id"),
        ):
            moved[table] = [
                str(i)
                for (i,) in c.execute(
                    f"UPDATE inbox.{table} SET {column} = %s"  # noqa: S608 (fixed names)
                    f" WHERE {column} = %s RETURNING id",
                    (target_id, source_id),
                )
            ]
        c.execute(
            "UPDATE inbox.contacts SET merged_into = %s, updated_at = now() WHERE id = %s",
            (target_id, source_id),
        )
        return self.cursor.execute(
            "INSERT INTO inbox.contact_merges (source_id, target_id, identity_ids,"
            " conversation_ids, message_ids, detached_threads, merged_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (
                source_id,
                target_id,
                moved["contact_identities"],
                moved["conversations"],
                moved["messages"],
                Jsonb(detached),
                agent_id,
            ),
        ).fetchone()

    def merge_record(self, merge_id: str, lock: bool = False) -> dict | None:
        """One merge, as recorded."""
        return self.cursor.execute(
            "SELECT * FROM inbox.contact_merges WHERE id = %s" + (" FOR UPDATE" if lock else ""),  # noqa: S608 (fixed names only)
            (merge_id,),
        ).fetchone()

    def undo_merge(self, merge: dict) -> None:
        """Move back what a merge moved, and revive the source contact."""
        c = self.connection
        source = merge["source_id"]
        c.execute(
            "UPDATE inbox.contact_identities SET contact_id = %s WHERE id = ANY(%s)",
            (source, merge["identity_ids"]),
        )
        c.execute(
            "UPDATE inbox.conversations SET contact_id = %s WHERE id = ANY(%s)",
            (source, merge["conversation_ids"]),
        )
        for conversation_id, thread_key in merge["detached_threads"].items():
            c.execute(
                "UPDATE inbox.conversations SET thread_key = %s WHERE id = %s",
                (thread_key, conversation_id),
            )
        c.execute(
            "UPDATE inbox.messages SET author_contact_id = %s WHERE id = ANY(%s)",
            (source, merge["message_ids"]),
        )
        c.execute("UPDATE inbox.contacts SET merged_into = NULL WHERE id = %s", (source,))
        c.execute("UPDATE inbox.contact_merges SET undone_at = now() WHERE id = %s", (merge["id"],))
