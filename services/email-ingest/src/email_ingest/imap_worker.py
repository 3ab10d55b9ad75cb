"""The IMAP poller process: `python -m email_ingest.imap_worker` (or `email-ingest imap`).

Replicas share the configured mailboxes through leases in PostgreSQL: each one announces
itself, works out its fair share (mailboxes / live replicas, rounded up), takes free or
expired leases up to that share and gives back what it holds beyond it, so `--scale
email-ingest=3` spreads the mailboxes and a dead replica's mailboxes move on once its leases
expire. Leases are renewed every third of their life, also in the middle of a long import.
A replica holding a single one-folder mailbox waits in IDLE when the server offers it;
otherwise it polls every `imap_poll_seconds`. SIGTERM finishes the batches in hand, stops the
parse processes, gives the leases back and exits 0.
"""

from __future__ import annotations

import logging
import math
import os
import random
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Mapping

from email_ingest.config import EmailIngestSettings
from email_ingest.imap_batch import SOURCE
from email_ingest.imap_prepare import InlinePreparer, Preparer, ProcessPreparer
from email_ingest.imap_state import ImapState
from email_ingest.imap_sync import LeaseLost, MailboxSync
from email_ingest.ingestion import EmailIngestor
from email_ingest.mailboxes import Mailbox, load_mailboxes
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.config import load_settings
from switchboard_shared.database import connection_pool
from switchboard_shared.errors import ConfigError
from switchboard_shared.health import broker_check, database_check, serve_worker_health
from switchboard_shared.publisher import Publisher
from switchboard_shared.structured_logging import configure_logging

log = logging.getLogger(__name__)

SERVICE = "email-ingest-imap"
# One mailbox's backlog must not starve the others a replica holds: after this long it
# yields, still due, and the next mailbox gets its turn.
_TIME_SLICE_SECONDS = 20.0
# Servers drop an IDLE client after 30 minutes (RFC 2177): re-issue it before that.
_MAX_IDLE_SECONDS = 25 * 60


class ImapWorker:
    """Holds leases, syncs the mailboxes it holds, waits in IDLE or between polls."""

    def __init__(
        self,
        settings: EmailIngestSettings,
        state: ImapState,
        syncs: Mapping[str, MailboxSync],
        ingestor: EmailIngestor,
        preparer: Preparer | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.syncs = dict(syncs)
        self.ingestor = ingestor
        self.preparer = preparer
        self.held: set[str] = set()
        self.stopping = threading.Event()
        self._renew_every = settings.imap_lease_seconds / 3
        self._next_renewal = 0.0
        self._next_poll: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand and return."""
        self.stopping.set()

    def run(self) -> None:
        """Work until `stop()`; then close the sessions and give the leases back."""
        try:
            while not self.stopping.is_set():
                if time.monotonic() >= self._next_renewal:
                    self._rebalance()
                self._sync_due()
                self._wait()
        finally:
            for sync in self.syncs.values():
                sync.close()
            if self.preparer is not None:
                self.preparer.close()
            self.ingestor.publisher.close()
            try:
                self.state.withdraw()
            except Exception as exc:  # they expire on their own; say so and exit anyway
                log.warning("could not release leases (%r): they expire by themselves", exc)
            log.info("stopped; released %d mailboxes", len(self.held))

    def _renew(self) -> int:
        """Renew presence and held leases, forget any another replica took; return replicas."""
        self._next_renewal = time.monotonic() + self._renew_every
        alive = self.state.announce()
        kept = self.state.acquire(self.held)
        for name in self.held - kept:
            log.warning("lost the lease of mailbox %s; another replica polls it now", name)
            self._drop(name)
        return alive

    def _rebalance(self) -> None:
        """Renew, then take free mailboxes up to this replica's share or give back extras."""
        try:
            share = math.ceil(len(self.syncs) / max(1, self._renew()))
            if len(self.held) > share:
                extras = sorted(self.held)[share:]
                for name in extras:
                    self._drop(name)
                self.state.release(extras)
                log.info("gave back %s to share with other replicas", ", ".join(extras))
            elif len(self.held) < share:
                taken = self.state.leases(self.syncs)
                free = [name for name in self.syncs if name not in taken]
                random.shuffle(free)  # replicas racing for the same free leases spread out
                gained = self.state.acquire(free[: share - len(self.held)])
                for name in sorted(gained):
                    log.info("took the lease of mailbox %s", name)
                    self._next_poll[name] = 0.0
                self.held |= gained
        except Exception as exc:  # the database is down: keep what we hold, try again soon
            log.error("lease renewal failed: %r", exc)
            self._next_renewal = time.monotonic() + min(self._renew_every, 5.0)

    def _drop(self, name: str) -> None:
        self.held.discard(name)
        self._next_poll.pop(name, None)
        self.syncs[name].close()

    def _sync_due(self) -> None:
        for name in sorted(self.held):
            if self.stopping.is_set() or name not in self.held:
                return
            if time.monotonic() < self._next_poll.get(name, 0.0):
                continue
            self._sync(name)

    def _sync(self, name: str) -> None:
        slice_end = time.monotonic() + _TIME_SLICE_SECONDS

        def keep_going() -> bool:
            if self.stopping.is_set():
                return False
            if time.monotonic() >= self._next_renewal:
                self._renew()  # a long import must not outlive its lease
            return name in self.held and time.monotonic() < slice_end

        try:
            handled = self.syncs[name].run(keep_going)
        except LeaseLost:
            log.warning("mailbox %s: fenced off, another replica holds it now", name)
            self._drop(name)
            return
        except Exception as exc:  # broker, database or server trouble: back off, retry
            failures = self._failures[name] = self._failures.get(name, 0) + 1
            delay = min(self.settings.imap_poll_seconds, 2.0**failures)
            log.error("mailbox %s: sync failed (%r); retrying in %.0fs", name, exc, delay)
            self._next_poll[name] = time.monotonic() + delay
            return
        self._failures.pop(name, None)
        if handled:
            log.info("mailbox %s: %d messages imported", name, handled)
        sliced = time.monotonic() >= slice_end and name in self.held
        self._next_poll[name] = (
            0.0 if sliced else time.monotonic() + self.settings.imap_poll_seconds
        )

    def _wait(self) -> None:
        if self.stopping.is_set():
            return
        now = time.monotonic()
        until = min([self._next_renewal, *(self._next_poll.get(n, 0.0) for n in self.held)])
        if until <= now:
            return
        if len(self.held) == 1:
            [name] = self.held
            sync = self.syncs[name]
            if sync.can_idle():
                seconds = min(self._next_renewal - now, _MAX_IDLE_SECONDS)
                try:
                    if sync.idle(seconds, lambda: not self.stopping.is_set()):
                        self._next_poll[name] = 0.0  # something arrived: sync now
                except Exception as exc:  # the session broke: the next sync reconnects
                    log.warning("mailbox %s: IDLE failed (%r)", name, exc)
                return
        self.stopping.wait(until - now)


def build_worker(settings: EmailIngestSettings, mailboxes: tuple[Mailbox, ...]) -> ImapWorker:
    """Wire the worker: database pool, blob store, publisher, preparer, one sync per mailbox."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    pool = connection_pool(settings.database, SERVICE)
    state = ImapState(pool, holder, settings.imap_lease_seconds)
    blobs = FilesystemBlobStore(settings.blob.dir, settings.blob.fsync)
    ingestor = EmailIngestor(blobs, Publisher(settings.amqp), SOURCE)
    processes = settings.imap_parse_processes
    preparer: Preparer = (
        ProcessPreparer(settings.blob, settings.log, processes, SERVICE)
        if processes > 0
        else InlinePreparer(blobs)
    )
    # Enough batches in hand that every preparing process has one while one is published.
    depth = max(processes, 1) + 1
    syncs = {
        m.name: MailboxSync(
            m,
            state,
            ingestor,
            settings.imap_batch_size,
            settings.max_message_bytes,
            preparer=preparer,
            depth=depth,
        )
        for m in mailboxes
    }
    log.info("replica %s sharing %d mailboxes", holder, len(syncs))
    return ImapWorker(settings, state, syncs, ingestor, preparer)


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run the IMAP poller until SIGTERM or SIGINT; return the exit code."""
    env = os.environ if environ is None else environ
    try:
        settings = load_settings(EmailIngestSettings, env)
        if settings.mailboxes_file is None:
            raise ConfigError("SWITCHBOARD_EMAIL_INGEST_MAILBOXES_FILE is required for IMAP")
        mailboxes = load_mailboxes(settings.mailboxes_file, env)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(SERVICE, settings.log)
    worker = build_worker(settings, mailboxes)

    def stop(signum: int, _frame) -> None:
        log.info("%s received: finishing the batch in hand", signal.Signals(signum).name)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    checks = {"broker": broker_check(settings.amqp), "database": database_check(settings.database)}
    server = serve_worker_health(settings.health_host, settings.health_port, checks)
    try:
        worker.run()
    finally:
        server.shutdown()
        worker.state.pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
