"""Group commit for the blob store: concurrent writers share one sync of a pack file.

A webhook must not be acknowledged before its raw body is durable, and a sync costs more
disk time than the rest of the request. `GroupCommitBlobStore.start_put` appends the blob
to the process's pack file (`blob_pack`) in the caller's thread and returns at once; one
committer thread per process then makes everything appended meanwhile durable with one
`fdatasync` of the pack a round, as a database's log group commit does, and releases that
round's waiters. A blob waits for at most two syncs (the one under way when it was written,
then its own), and a busy process pays one sync a round however many requests it holds.
When a pack is full, the next blob goes to a new one (made ready beforehand by the
committer), and the committer seals the full one once its records are durable. A blob too
big for a pack is stored as a file of its own, synced in the caller's thread.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from switchboard_shared.blob_pack import DEFAULT_SIZE, PackWriter, ProcessPack, seal_all
from switchboard_shared.blobstore import FilesystemBlobStore, sha256_hex

log = logging.getLogger(__name__)


class _Round:
    """Blobs made durable by the same sync; its waiters are released together."""

    __slots__ = ("done", "error", "packs")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.packs: list[PackWriter] = []  # the packs it appended to


_DURABLE = _Round()  # stored with fsync off, or by a put of its own: nothing to wait for
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
    """A FilesystemBlobStore whose `start_put` packs blobs and shares their syncs."""

    def __init__(self, root: Path, fsync: bool = True, pack_size: int = DEFAULT_SIZE) -> None:
        super().__init__(root, fsync, pack_size)
        # Its own packs, with a committer thread that syncs and seals them.
        self._packs = ProcessPack(
            self.pack_dir, pack_size, on_start=self._start_committer, before_exit=self._drain
        )
        self._wake = threading.Condition(self._packs.lock)
        self._open = _Round()  # what the next sync will make durable

    def start_put(self, data: bytes) -> PendingBlob:
        """Store `data` now and return at once; the result says when it is durable."""
        digest = sha256_hex(data)
        try:
            if not self._packs.takes(data):
                self.put(data)
                return PendingBlob(digest, _DURABLE)
            with self._wake:
                # The same bytes twice (a redelivery) are packed once; both wait for the
                # open round, whose sync follows the first append.
                pack = self._packs.append(digest, data)
                if not self.fsync:
                    if self._packs.full:
                        self._wake.notify()  # to seal
                    return PendingBlob(digest, _DURABLE)
                round_ = self._open
                if not round_.packs or round_.packs[-1] is not pack:
                    round_.packs.append(pack)
                self._wake.notify()
        except OSError as exc:
            failed = _Round()
            failed.error = exc
            failed.done.set()
            return PendingBlob(digest, failed)
        return PendingBlob(digest, round_)

    def _start_committer(self) -> None:
        """Called (locked) when this process starts packing: in a child after a fork too."""
        self._open = _Round()
        threading.Thread(target=self._commit_rounds, name="blob-commit", daemon=True).start()

    def _drain(self, timeout: float = 10.0) -> None:
        """At a clean exit, let the committer finish syncing what requests appended."""
        with self._wake:
            last = self._open
        last.done.wait(timeout if last.packs else 0)

    def _commit_rounds(self) -> None:
        packs = self._packs
        while True:
            with self._wake:
                while not (self._open.packs or packs.full) and packs.active:
                    self._wake.wait()
                if not packs.active:
                    return  # sealed at exit
                current, self._open = self._open, _Round()
                # Retired before the round was taken: every record they hold was appended
                # in this round or an earlier one, so this round's sync covers them.
                full, packs.full = packs.full, []
            try:
                if self.fsync:
                    for pack in dict.fromkeys([*full, *current.packs]):
                        pack.sync()
            except Exception as exc:
                # Its waiters fail (503: the network sends the body again).
                log.error("blob store sync failed: %r", exc)
                current.error = exc
                with self._wake:
                    # After a failed fdatasync the kernel may have dropped the pack's dirty
                    # pages: no later sync of it could vouch for its records. The next
                    # blob starts another.
                    if packs.current in current.packs:
                        packs.failed = True
            current.done.set()
            seal_all(full)
            packs.prepare_spare()
