"""The outbox relay: publish what committed transactions recorded, with confirms, in batches.

Rows are claimed with FOR UPDATE SKIP LOCKED, so every worker replica can run a relay; a
batch is published with every confirm in flight at once and only confirmed rows are stamped.
Nothing is published for a rolled-back transaction (its rows never existed), and nothing is
lost while the broker is down (the rows wait). The relay also reopens conversations whose
snooze has run out, since it wakes up regularly anyway.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import psycopg
from kombu.exceptions import KombuError

from inbox import changes
from inbox.repository.outbox import OutboxRepository, OutboxRow
from switchboard_shared.broadcast import declare_buffer
from switchboard_shared.errors import PublishError
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import CONVERSATION_CHANGED, Event, event_type

log = logging.getLogger(__name__)

CHANNEL = "inbox_outbox"
CHANGES_KEY = "conversation.changed"
BROKER_ERRORS = (OSError, KombuError)
_PURGE_EVERY_SECONDS = 600
_KEEP_PUBLISHED_HOURS = 24


class OutboxRelay:
    """Publishes outbox rows until stopped; one database connection, one publisher."""

    def __init__(
        self, database_url: str, publisher: Publisher, batch_size: int, poll_seconds: float
    ) -> None:
        self.database_url = database_url
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._last_purge = 0.0

    def run(self) -> None:
        """Relay until `stop()`; database or broker outages are waited out."""
        while not self.stopping.is_set():
            try:
                # conversation.changed goes to every API replica's live feed; its buffer
                # keeps it routable while no replica listens.
                declare_buffer(self.publisher.settings, CONVERSATION_CHANGED, CHANGES_KEY)
                with psycopg.connect(self.database_url, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    self._relay_forever(listener)
            except (psycopg.OperationalError, PublishError, *BROKER_ERRORS) as exc:
                log.warning("outbox relay paused: %s", exc)
                self.stopping.wait(self.poll_seconds)
        self.publisher.close()

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run`."""
        self.stopping.set()

    def _relay_forever(self, listener: psycopg.Connection) -> None:
        with psycopg.connect(self.database_url) as connection:
            while not self.stopping.is_set():
                self.reopen_due_snoozes(connection)
                while self.publish_batch(connection) and not self.stopping.is_set():
                    pass
                self._purge(connection)
                # Wake on the NOTIFY a committed batch sends, or after poll_seconds.
                for _ in listener.notifies(timeout=self.poll_seconds, stop_after=1):
                    pass

    def publish_batch(self, connection: psycopg.Connection) -> int:
        """Publish one batch of unpublished rows; return how many were claimed."""
        with connection.transaction():
            repository = OutboxRepository(connection)
            rows = repository.claim(self.batch_size)
            if not rows:
                return 0
            published = self._publish(rows)
            repository.mark_published(published)
        if len(published) < len(rows):
            raise PublishError(f"{len(rows) - len(published)} outbox events not confirmed")
        return len(rows)

    def _publish(self, rows: list[OutboxRow]) -> list[int]:
        try:
            self.publisher.publish_many([_event(r) for r in rows])
        except PublishError as exc:
            log.warning("outbox publish incomplete: %s", exc.reason)
            return [rows[i].id for i in sorted(exc.confirmed)]
        return [r.id for r in rows]

    def reopen_due_snoozes(self, connection: psycopg.Connection) -> int:
        """Reopen conversations whose snooze ran out, announcing each."""
        with connection.transaction():
            repository = OutboxRepository(connection)
            reopened = repository.reopen_due_snoozes()
            if reopened:
                repository.add(
                    [
                        changes.conversation_changed(
                            cid,
                            "status_changed",
                            trace_id=uuid.uuid4().hex,
                            status="open",
                            assignee_id=assignee,
                        )
                        for cid, assignee in reopened
                    ]
                )
        return len(reopened)

    def _purge(self, connection: psycopg.Connection) -> None:
        if time.monotonic() - self._last_purge < _PURGE_EVERY_SECONDS:
            return
        self._last_purge = time.monotonic()
        with connection.transaction():
            OutboxRepository(connection).purge_published(_KEEP_PUBLISHED_HOURS)


def _event(row: OutboxRow) -> Event:
    return Event(event_type(row.event_type), row.payload, row.event_id, row.trace_id or "")
