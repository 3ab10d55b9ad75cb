"""Group commit for the blob store: concurrent writers share the filesystem syncs.

A webhook must not be acknowledged before its raw body is durable, and a sync a request
costs more CPU and disk time than the rest of the request. `GroupCommitBlobStore.start_put`
writes the blob at its name in the caller's thread and returns at once; one committer
thread per process then makes everything written meanwhile durable with one filesystem
sync a round, as a database's log group commit does, and releases that round's waiters.
A blob waits for at most two syncs (the one under way when it was written, then its own),
and a busy process pays one sync a round however many requests the round holds. Without
syncfs(2) a round fsyncs each of its files and directories.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from switchboard_shared.blobstore import FilesystemBlobStore, sha256_hex, store_at

log = logging.getLogger(__name__)


class _Round:
    """Blobs made durable by the same sync; its waiters are released together."""

    __slots__ = ("digests", "done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.digests: list[str] = []


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

    def __init__(self, root: Path, fsync: bool = True) -> None:
        super().__init__(root, fsync)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._open = _Round()  # what the next sync will make durable
        self._committer_pid: int | None = None

    def start_put(self, data: bytes) -> PendingBlob:
        """Write `data` now and return at once; the result says when it is durable."""
        digest = sha256_hex(data)
        try:
            # The same bytes written twice at once (a redelivery) meet at their name:
            # store_at finds them intact, and both wait for a sync that follows the write.
            store_at(self._path(digest), digest, data)
        except OSError as exc:
            failed = _Round()
            failed.error = exc
            failed.done.set()
            return PendingBlob(digest, failed)
        if not self.fsync:
            return PendingBlob(digest, _DURABLE)
        with self._lock:
            self._ensure_committer()
            round_ = self._open
            round_.digests.append(digest)
            self._wake.notify()
        return PendingBlob(digest, round_)

    def _ensure_committer(self) -> None:
        """Start this process's committer thread (again in a child after a fork)."""
        if self._committer_pid == os.getpid():
            return
        self._committer_pid = os.getpid()
        self._open = _Round()
        threading.Thread(target=self._commit_rounds, name="blob-commit", daemon=True).start()

    def _commit_rounds(self) -> None:
        while True:
            with self._lock:
                while not self._open.digests:
                    self._wake.wait()
                current, self._open = self._open, _Round()
            try:
                self.sync(current.digests)
            except Exception as exc:
                # Its waiters fail (503: the network sends the body again); the names stay,
                # and the next put of the same bytes finds them intact and syncs them then.
                log.error("blob store sync failed: %r", exc)
                current.error = exc
            current.done.set()
