"""SQL of the outbox relay: claim unpublished rows, stamp the published, reopen due snoozes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from inbox.repository.parameters import records


@dataclass(frozen=True)
class OutboxRow:
    """One event waiting to be published."""

    id: int
    event_type: str
    payload: dict
    event_id: str
    trace_id: str


class OutboxRepository:
    """Outbox reads and writes on the caller's connection and transaction."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection

    def add(self, events: list[dict]) -> None:
        """Record events to publish once this transaction commits, and wake the relay."""
        if not events:
            return
        self.connection.execute(
            "INSERT INTO inbox.outbox (event_type, payload, trace_id)"
            " SELECT event_type, payload, trace_id FROM jsonb_to_recordset(%s)"
            " AS x(event_type text, payload jsonb, trace_id text)",
            (records(events),),
        )
        self.connection.execute("SELECT pg_notify('inbox_outbox', '')")

    def claim(self, limit: int) -> list[OutboxRow]:
        """Lock the oldest unpublished rows no other relay holds."""
        rows = self.connection.execute(
            "SELECT id, event_type, payload, event_id, trace_id FROM inbox.outbox"
            " WHERE published_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        )
        return [OutboxRow(i, t, p, str(e), tr) for i, t, p, e, tr in rows]

    def mark_published(self, ids: Sequence[int]) -> None:
        """Stamp rows as published."""
        if ids:
            self.connection.execute(
                "UPDATE inbox.outbox SET published_at = now() WHERE id = ANY(%s)", (list(ids),)
            )

    def purge_published(self, older_than_hours: int) -> int:
        """Delete rows published long ago; return how many."""
        cursor = self.connection.execute(
            "DELETE FROM inbox.outbox WHERE published_at < now() - make_interval(hours => %s)",
            (older_than_hours,),
        )
        return cursor.rowcount

    def reopen_due_snoozes(self) -> list[tuple[str, str | None]]:
        """Reopen snoozed conversations whose time has come; return (id, assignee) of each."""
        rows = self.connection.execute(
            "UPDATE inbox.conversations SET status = 'open', snoozed_until = NULL,"
            " updated_at = now() WHERE status = 'snoozed' AND snoozed_until <= now()"
            " RETURNING id, assignee_id"
        )
        return [(str(i), str(a) if a else None) for i, a in rows]
