"""SQL of canned responses and inboxes (the small admin-managed tables)."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

_CANNED = "id, shortcut, title, body, created_by, created_at"
_INBOX = (
    "i.id, i.channel, i.address, i.name, i.auto_assign, i.created_at,"
    " ARRAY(SELECT m.agent_id FROM inbox.inbox_members m WHERE m.inbox_id = i.id"
    " ORDER BY m.agent_id) AS member_ids"
)


class CannedResponseRepository:
    """Canned responses on the caller's connection."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.cursor = connection.cursor(row_factory=dict_row)

    def list(self) -> list[dict]:
        """Every canned response by shortcut."""
        return self.cursor.execute(
            f"SELECT {_CANNED} FROM inbox.canned_responses ORDER BY shortcut"  # noqa: S608
        ).fetchall()

    def get(self, canned_id: str) -> dict | None:
        """One canned response."""
        return self.cursor.execute(
            f"SELECT {_CANNED} FROM inbox.canned_responses WHERE id = %s",  # noqa: S608
            (canned_id,),
        ).fetchone()

    def create(self, shortcut: str, title: str, body: str, agent_id: str) -> dict:
        """Add one; raise UniqueViolation if the shortcut is taken."""
        return self.cursor.execute(
            "INSERT INTO inbox.canned_responses (shortcut, title, body, created_by)"  # noqa: S608 (fixed names only)
            f" VALUES (%s, %s, %s, %s) RETURNING {_CANNED}",
            (shortcut, title, body, agent_id),
        ).fetchone()

    def update(self, canned_id: str, changes: dict) -> dict | None:
        """Change its shortcut, title or body."""
        for column in ("shortcut", "title", "body"):
            if column in changes:
                self.cursor.execute(
                    f"UPDATE inbox.canned_responses SET {column} = %s WHERE id = %s",  # noqa: S608
                    (changes[column], canned_id),
                )
        return self.get(canned_id)

    def delete(self, canned_id: str) -> bool:
        """Remove one; False if there was none."""
        return (
            self.cursor.execute(
                "DELETE FROM inbox.canned_responses WHERE id = %s", (canned_id,)
            ).rowcount
            == 1
        )


class InboxRepository:
    """Inboxes (channel accounts) on the caller's connection."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor(row_factory=dict_row)

    def list(self) -> list[dict]:
        """Every inbox."""
        return self.cursor.execute(
            f"SELECT {_INBOX} FROM inbox.inboxes i ORDER BY i.name, i.id"  # noqa: S608
        ).fetchall()

    def get(self, inbox_id: str) -> dict | None:
        """One inbox."""
        return self.cursor.execute(
            f"SELECT {_INBOX} FROM inbox.inboxes i WHERE i.id = %s",  # noqa: S608
            (inbox_id,),
        ).fetchone()

    def update(self, inbox_id: str, changes: dict) -> dict | None:
        """Rename, switch round-robin assignment, or set the members."""
        for column in ("name", "auto_assign"):
            if column in changes:
                self.connection.execute(
                    f"UPDATE inbox.inboxes SET {column} = %s WHERE id = %s",  # noqa: S608
                    (changes[column], inbox_id),
                )
        if "member_ids" in changes:
            self.connection.execute(
                "DELETE FROM inbox.inbox_members WHERE inbox_id = %s", (inbox_id,)
            )
            self.connection.execute(
                "INSERT INTO inbox.inbox_members (inbox_id, agent_id)"
                " SELECT %s, unnest(%s::uuid[])",
                (inbox_id, changes["member_ids"]),
            )
        return self.get(inbox_id)
