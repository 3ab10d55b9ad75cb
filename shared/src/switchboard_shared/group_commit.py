"""Group commit for the blob store: concurrent writers share one journal sync.

A webhook must not be acknowledged before its raw body is durable, and a sync costs more
disk time than the rest of the request. `GroupCommitBlobStore.start_put` writes the blob at
its name and appends it to the process's journal (`blob_journal`) in the caller's thread
and returns at once; one committer thread per process then makes everything appended
meanwhile durable with one `fdatasync` of the journal a round, as a database's log group
commit does, and releases that round's waiters. A blob waits for at most two syncs (the one
under way when it was written, then its own), and a busy process pays one sync a round
however many requests the round holds. When the journal is full, a round syncs the whole
filesystem instead (a checkpoint: the blob files themselves are then durable) and the
journal starts over. Without syncfs(2) a checkpoint fsyncs each file and directory.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from pathlib import Path

from switchboard_shared.blob_journal import DEFAULT_SIZE, BlobJournal, replay_abandoned
from switchboard_shared.blobstore import FilesystemBlobStore, sha256_hex, store_at

log = logging.getLogger(__name__)


class _Round:
    """Blobs made durable by the same sync; its waiters are released together."""

    __slots__ = ("checkpoint", "digests", "done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.digests: list[str] = []
        self.checkpoint = False  # a blob is not in the journal: sync the filesystem


_DURABLE = _Round()  # stored with fsync off: nothing to wait for
_DURABLE.done.set()


class PendingBlob:
    """A blob being stored: `result()` returns its sha256 once it is durable."""

    __slots__ = ("_round", "sha256")

    def __init__(self, sha256: str, round_: _Round) -> None:
        self.sha256 = sha256
        self._round = round_

    def result(self, timeout: float | None = None) -> str:
        """Wait until the blob is durable and return its sha256; raise OSError if it is not."""
        if not self._round.done.wait(timeout):
            raise TimeoutError(f"blob {self.sha256} not durable within {timeout}s")
        error = self._round.error
        if error is not None:
            # A fresh exception per waiter: threads must not share one traceback.
            raise OSError(f"blob {self.sha256} could not be stored: {error!r}") from error
        return self.sha256


class GroupCommitBlobStore(FilesystemBlobStore):
    """A FilesystemBlobStore whose `start_put` shares syncs with concurrent writers."""

    def __init__(self, root: Path, fsync: bool = True, journal_size: int = DEFAULT_SIZE) -> None:
        super().__init__(root, fsync)
        self._journal_size = journal_size
        self._journal: BlobJournal | None = None
        self._journal_full = False
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._open = _Round()  # what the next sync will make durable
        self._committer_pid: int | None = None

    @property
    def journal_dir(self) -> Path:
        """Where the processes writing to this store keep their journals."""
        return self.root / ".journal"

    def start_put(self, data: bytes) -> PendingBlob:
        """Write `data` now and return at once; the result says when it is durable."""
        digest = sha256_hex(data)
        try:
            # The same bytes written twice at once (a redelivery) meet at their name:
            # store_at finds them intact, and both wait for a sync that follows the write.
            store_at(self._path(digest), digest, data)
            if not self.fsync:
                return PendingBlob(digest, _DURABLE)
            with self._lock:
                self._ensure_committer()
                round_ = self._open
                # Journaled even when found intact: it may be another writer's, not synced.
                if self._journal_full or not self._journal.append(digest, data):
                    # Until the checkpoint is done, nothing more goes into the journal.
                    self._journal_full = round_.checkpoint = True
                round_.digests.append(digest)
                self._wake.notify()
        except OSError as exc:
            failed = _Round()
            failed.error = exc
            failed.done.set()
            return PendingBlob(digest, failed)
        return PendingBlob(digest, round_)

    def _ensure_committer(self) -> None:
        """Start this process's journal and committer (again in a child after a fork)."""
        if self._committer_pid == os.getpid():
            return
        # The parent's journal, if any, stays the parent's: its lock is shared with the
        # child through the inherited descriptor, but only the parent appends to it.
        self._journal = BlobJournal.create(self.journal_dir, self._journal_size)
        self._journal_full = False
        self._committer_pid = os.getpid()
        self._open = _Round()
        threading.Thread(target=self._commit_rounds, name="blob-commit", daemon=True).start()
        threading.Thread(target=self.replay_abandoned, name="blob-replay", daemon=True).start()
        atexit.register(self._retire_journal, self._journal)

    def _retire_journal(self, journal: BlobJournal) -> None:
        """At a clean exit, make the blob files durable and delete the journal.

        Otherwise the next process to start would replay it all, for nothing.
        """
        with self._lock:
            if self._committer_pid != os.getpid() or not self.sync_filesystem():
                return  # a child's exit, or no syncfs: leave it for a replay
            journal.remove()

    def replay_abandoned(self) -> list[str]:
        """Make the blobs in dead processes' journals durable by themselves; drop those."""
        try:
            return replay_abandoned(
                self.journal_dir,
                lambda digest, data: store_at(self._path(digest), digest, data),
                self.sync,
            )
        except OSError as exc:  # the journals stay, for the next process to try
            log.error("could not replay abandoned blob journals: %r", exc)
            return []

    def _commit_rounds(self) -> None:
        journal = self._journal
        while True:
            with self._lock:
                while not self._open.digests:
                    self._wake.wait()
                current, self._open = self._open, _Round()
            try:
                if current.checkpoint:
                    self.sync(current.digests)
                    with self._lock:
                        # Every record is older than the sync (appends stopped when the
                        # journal filled): the blob files themselves are now durable.
                        journal.restart()
                        self._journal_full = False
                else:
                    journal.sync()
            except Exception as exc:
                # Its waiters fail (503: the network sends the body again); the names stay,
                # and the next put of the same bytes finds them intact and syncs them then.
                log.error("blob store sync failed: %r", exc)
                current.error = exc
                with self._lock:
                    # After a failed fdatasync the kernel may have dropped the journal's
                    # dirty pages: only a checkpoint can vouch for the blobs again.
                    self._journal_full = True
            current.done.set()
