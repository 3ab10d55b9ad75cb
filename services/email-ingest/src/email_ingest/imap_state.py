"""All SQL of the IMAP poller: per-folder cursors, per-mailbox leases, replica presence.

A lease row says which replica polls a mailbox until when. Acquiring and renewing are one
atomic statement: the row is taken if it is free, ours already, or expired, so two replicas
racing for a mailbox cannot both win. The database clock (`now()`) is the only clock used,
so replicas on hosts with skewed clocks still agree on who holds what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from psycopg_pool import ConnectionPool


@dataclass(frozen=True)
class Cursor:
    """Where a (mailbox, folder) import stands: UIDs above `last_uid` under `uidvalidity`."""

    uidvalidity: int
    last_uid: int


class ImapState:
    """Cursors, leases and replica presence in the `email_ingest` schema."""

    def __init__(self, pool: ConnectionPool, holder: str, lease_seconds: float) -> None:
        self.pool = pool
        self.holder = holder
        self.lease_seconds = lease_seconds

    def cursor(self, mailbox: str, folder: str) -> Cursor | None:
        """Return the stored cursor of a folder, or None if it was never imported."""
        with self.pool.connection() as connection:
            row = connection.execute(
                "SELECT uidvalidity, last_uid FROM email_ingest.imap_cursors"
                " WHERE mailbox = %s AND folder = %s",
                (mailbox, folder),
            ).fetchone()
        return Cursor(row[0], row[1]) if row else None

    def save_cursor(self, mailbox: str, folder: str, cursor: Cursor) -> bool:
        """Store a folder's cursor if this replica still holds the mailbox's lease.

        The lease check is part of the statement (a fence): a replica that stalled past its
        lease and lost the mailbox to another cannot move the cursor under the new holder.
        Returns False when fenced off.
        """
        with self.pool.connection() as connection:
            row = connection.execute(
                """
                INSERT INTO email_ingest.imap_cursors AS c
                    (mailbox, folder, uidvalidity, last_uid, updated_at)
                SELECT %(mailbox)s, %(folder)s, %(uidvalidity)s, %(last_uid)s, now()
                WHERE EXISTS (
                    SELECT 1 FROM email_ingest.imap_leases
                    WHERE mailbox = %(mailbox)s AND holder = %(holder)s AND expires_at > now()
                )
                ON CONFLICT (mailbox, folder) DO UPDATE
                    SET uidvalidity = EXCLUDED.uidvalidity,
                        last_uid = EXCLUDED.last_uid,
                        updated_at = now()
                RETURNING 1
                """,
                {
                    "mailbox": mailbox,
                    "folder": folder,
                    "uidvalidity": cursor.uidvalidity,
                    "last_uid": cursor.last_uid,
                    "holder": self.holder,
                },
            ).fetchone()
        return row is not None

    def acquire(self, mailboxes: Iterable[str]) -> set[str]:
        """Take or renew the leases of `mailboxes` that are free, ours or expired; return ours."""
        names = sorted(set(mailboxes))
        if not names:
            return set()
        with self.pool.connection() as connection:
            rows = connection.execute(
                """
                INSERT INTO email_ingest.imap_leases AS l (mailbox, holder, expires_at)
                SELECT name, %(holder)s, now() + make_interval(secs => %(seconds)s)
                FROM unnest(%(names)s::text[]) AS name
                ON CONFLICT (mailbox) DO UPDATE
                    SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                    WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()
                RETURNING mailbox
                """,
                {"holder": self.holder, "seconds": self.lease_seconds, "names": names},
            ).fetchall()
        return {row[0] for row in rows}

    def release(self, mailboxes: Iterable[str]) -> None:
        """Give up our leases of `mailboxes` so another replica can take them at once."""
        names = sorted(set(mailboxes))
        if not names:
            return
        with self.pool.connection() as connection:
            connection.execute(
                "DELETE FROM email_ingest.imap_leases"
                " WHERE holder = %s AND mailbox = ANY(%s::text[])",
                (self.holder, names),
            )

    def leases(self, mailboxes: Iterable[str]) -> dict[str, str]:
        """Return the live holder of each of `mailboxes` that has one."""
        with self.pool.connection() as connection:
            rows = connection.execute(
                "SELECT mailbox, holder FROM email_ingest.imap_leases"
                " WHERE mailbox = ANY(%s::text[]) AND expires_at > now()",
                (sorted(set(mailboxes)),),
            ).fetchall()
        return dict(rows)

    def announce(self) -> int:
        """Renew this replica's presence; return how many replicas are alive, this one included."""
        with self.pool.connection() as connection:
            connection.execute(
                """
                INSERT INTO email_ingest.imap_replicas AS r (holder, expires_at)
                VALUES (%(holder)s, now() + make_interval(secs => %(seconds)s))
                ON CONFLICT (holder) DO UPDATE SET expires_at = EXCLUDED.expires_at
                """,
                {"holder": self.holder, "seconds": self.lease_seconds},
            )
            # Rows of replicas long dead would only cost space: sweep them as we go.
            connection.execute(
                "DELETE FROM email_ingest.imap_replicas WHERE expires_at < now() - interval '1 day'"
            )
            (alive,) = connection.execute(
                "SELECT count(*) FROM email_ingest.imap_replicas WHERE expires_at > now()"
            ).fetchone()
        return alive

    def withdraw(self) -> None:
        """Remove this replica's presence and every lease it holds (graceful shutdown)."""
        with self.pool.connection() as connection:
            connection.execute(
                "DELETE FROM email_ingest.imap_leases WHERE holder = %s", (self.holder,)
            )
            connection.execute(
                "DELETE FROM email_ingest.imap_replicas WHERE holder = %s", (self.holder,)
            )
