"""All of the notifier's SQL: the send-attempt rows and the worker identity that owns sends.

A worker process takes an id from `notifier.worker_ids` and holds the advisory lock
(NAMESPACE, id) on a connection of its own for as long as it lives. A row it leaves in
`sending` therefore tells whether its sender is still alive: if the lock can be taken, the
process (or its database session) is gone, and the send may or may not have happened.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg_pool import ConnectionPool

from notifier.guard import Action, AttemptRow, Decision, decide

log = logging.getLogger(__name__)

# pg_advisory_lock(NAMESPACE, worker id): "NOTI" keeps clear of other services' locks.
NAMESPACE = 0x4E4F5449


class WorkerIdentity:
    """This process's owner id, kept alive by an advisory lock on a dedicated connection."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._lock = threading.Lock()
        self._connection = psycopg.connect(database_url, autocommit=True, connect_timeout=5)
        self.id: int = self._connection.execute(
            "SELECT nextval('notifier.worker_ids')::int"
        ).fetchone()[0]
        self._connection.execute("SELECT pg_advisory_lock(%s, %s)", (NAMESPACE, self.id))
        # Replies this process is sending now (any thread): a `sending` row of ours that is
        # not among them was left behind by an attempt that could not record its outcome.
        self.in_flight: set[str] = set()
        log.info("notifier worker id %d", self.id)

    def ensure(self) -> None:
        """Take the lock again on a new connection if the old one broke (database restart)."""
        with self._lock:
            if not (self._connection.closed or self._connection.broken):
                return
            log.warning("lost the worker lock connection; taking worker id %d again", self.id)
            self._connection = psycopg.connect(
                self.database_url, autocommit=True, connect_timeout=5
            )
            self._connection.execute("SELECT pg_advisory_lock(%s, %s)", (NAMESPACE, self.id))

    def close(self) -> None:
        """Release the lock by closing its connection."""
        self._connection.close()


@dataclass(frozen=True)
class Claim:
    """The guard's decision for one job, with the row it was made on."""

    decision: Decision
    attempt: int
    row: AttemptRow

    @property
    def action(self) -> Action:
        """What to do."""
        return self.decision.action


class AttemptRepository:
    """Record every attempt under the reply id before sending, and every outcome after."""

    def __init__(self, pool: ConnectionPool, identity: WorkerIdentity) -> None:
        self.pool = pool
        self.identity = identity

    def claim(self, reply_id: str, channel: str, inbox: str) -> Claim:
        """Decide whether this job sends; if it does, mark the row `sending` by us first."""
        self.identity.ensure()
        me = self.identity.id
        with self.pool.connection() as connection:
            # The common case, a reply never seen: one statement claims it.
            fresh = connection.execute(
                "INSERT INTO notifier.send_attempts (reply_id, channel, inbox, state, owner,"
                " attempts) VALUES (%s, %s, %s, 'sending', %s, 1)"
                " ON CONFLICT (reply_id) DO NOTHING RETURNING state, owner, attempts,"
                " maybe_delivered, possible_duplicate, provider_message_id, reason",
                (reply_id, channel, inbox, me),
            ).fetchone()
            if fresh is not None:
                self.identity.in_flight.add(reply_id)
                return Claim(Decision(Action.SEND), 1, AttemptRow(*fresh))
            row = AttemptRow(
                *connection.execute(
                    "SELECT state, owner, attempts, maybe_delivered, possible_duplicate,"
                    " provider_message_id, reason FROM notifier.send_attempts"
                    " WHERE reply_id = %s FOR UPDATE",
                    (reply_id,),
                ).fetchone()
            )
            decision = decide(row, self._owner_alive(connection, reply_id, row))
            if decision.action is not Action.SEND:
                return Claim(decision, row.attempts, row)
            connection.execute(
                "UPDATE notifier.send_attempts SET state = 'sending', owner = %s,"
                " attempts = attempts + 1, possible_duplicate = %s,"
                " maybe_delivered = maybe_delivered OR %s, next_attempt_at = NULL,"
                " updated_at = now() WHERE reply_id = %s",
                (me, decision.possible_duplicate, decision.possible_duplicate, reply_id),
            )
            self.identity.in_flight.add(reply_id)
            return Claim(decision, row.attempts + 1, row)

    def _owner_alive(self, connection: psycopg.Connection, reply_id: str, row: AttemptRow) -> bool:
        if row.state != "sending" or row.owner is None:
            return False
        if row.owner == self.identity.id:
            return reply_id in self.identity.in_flight
        # Taking the owner's lock succeeds only if no live session holds it; the
        # transaction-level lock is released again at commit.
        (taken,) = connection.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", (NAMESPACE, row.owner)
        ).fetchone()
        return not taken

    def record_sent(
        self, reply_id: str, provider_message_id: str | None, detail: str | None
    ) -> None:
        """The provider accepted: from now on this reply is only ever announced."""
        self._finish(
            "UPDATE notifier.send_attempts SET state = 'sent', owner = NULL,"
            " provider_message_id = %s, reason = %s, sent_at = now(), updated_at = now()"
            " WHERE reply_id = %s",
            (provider_message_id, detail, reply_id),
            reply_id,
        )

    def record_retry(
        self, reply_id: str, reason: str, maybe_delivered: bool, next_attempt_at: datetime | None
    ) -> None:
        """The attempt failed for now; remember whether it may have reached the provider."""
        self._finish(
            "UPDATE notifier.send_attempts SET state = 'retrying', owner = NULL, reason = %s,"
            " maybe_delivered = maybe_delivered OR %s, next_attempt_at = %s, updated_at = now()"
            " WHERE reply_id = %s",
            (reason, maybe_delivered, next_attempt_at, reply_id),
            reply_id,
        )

    def record_failed(self, reply_id: str, reason: str) -> None:
        """Retrying cannot help. A replayed job for this reply sends again."""
        self._finish(
            "UPDATE notifier.send_attempts SET state = 'failed', owner = NULL, reason = %s,"
            " next_attempt_at = NULL, updated_at = now() WHERE reply_id = %s",
            (reason, reply_id),
            reply_id,
        )

    def _finish(self, statement: str, params: tuple, reply_id: str) -> None:
        try:
            with self.pool.connection() as connection:
                connection.execute(statement, params)
        finally:
            self.identity.in_flight.discard(reply_id)

    def lookup(self, reply_id: str) -> AttemptRow | None:
        """The row for one reply (tests and operators)."""
        with self.pool.connection() as connection:
            found = connection.execute(
                "SELECT state, owner, attempts, maybe_delivered, possible_duplicate,"
                " provider_message_id, reason FROM notifier.send_attempts WHERE reply_id = %s",
                (reply_id,),
            ).fetchone()
        return AttemptRow(*found) if found else None
