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

import atexit
import logging
import os
import threading
from pathlib import Path

from switchboard_shared.blob_pack import DEFAULT_SIZE, PackWriter, seal_abandoned
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
        super().__init__(root, fsync)
        self._pack_size = pack_size
        self._pack: PackWriter | None = None  # being filled
        self._spare: PackWriter | None = None  # made ready for when it is full
        self._full: list[PackWriter] = []  # to seal once their records are durable
        self._pack_failed = False  # a sync of the pack failed: no later one vouches for it
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._open = _Round()  # what the next sync will make durable
        self._writer_pid: int | None = None

    def start_put(self, data: bytes) -> PendingBlob:
        """Store `data` now and return at once; the result says when it is durable."""
        digest = sha256_hex(data)
        try:
            if len(data) > self._pack_size // 4:  # would leave a pack mostly unused
                self.put(data)
                return PendingBlob(digest, _DURABLE)
            with self._lock:
                self._ensure_writer()
                round_ = self._open
                pack = self._next_pack() if self._pack_failed else self._pack
                # The same bytes twice (a redelivery) are packed once; both wait for the
                # open round, whose sync follows the first append.
                if not pack.holds(digest) and not pack.append(digest, data):
                    pack = self._next_pack()
                    pack.append(digest, data)
                if not self.fsync:
                    return PendingBlob(digest, _DURABLE)
                if not round_.packs or round_.packs[-1] is not pack:
                    round_.packs.append(pack)
                self._wake.notify()
        except OSError as exc:
            failed = _Round()
            failed.error = exc
            failed.done.set()
            return PendingBlob(digest, failed)
        return PendingBlob(digest, round_)

    @property
    def _busy(self) -> bool:
        return bool(self._open.packs or self._full)

    def _next_pack(self) -> PackWriter:
        """Retire the pack being filled for sealing and start the next (called locked)."""
        # Filled faster than the committer could prepare one: create it here. If that
        # fails, nothing changed, and the request fails (503: the network sends it again).
        fresh = self._spare or PackWriter.create(self.pack_dir, self._pack_size)
        self._spare = None
        self._full.append(self._pack)
        self._pack = fresh
        self._pack_failed = False
        self._wake.notify()
        return fresh

    def _ensure_writer(self) -> None:
        """Start this process's pack and committer (again in a child after a fork)."""
        if self._writer_pid == os.getpid():
            return
        # Inherited from the parent, the pack's descriptors would hold its lock after the
        # parent died, and keep it from being sealed: close the child's copies.
        for inherited in (self._pack, self._spare, *self._full):
            if inherited is not None:
                inherited.close()
        self._full = []
        self._spare = None
        self._pack_failed = False
        self._pack = PackWriter.create(self.pack_dir, self._pack_size)
        self._writer_pid = os.getpid()
        self._open = _Round()
        threading.Thread(target=self._commit_rounds, name="blob-commit", daemon=True).start()
        threading.Thread(target=self.seal_abandoned, name="blob-seal", daemon=True).start()
        atexit.register(self._seal_at_exit)

    def seal_abandoned(self) -> int:
        """Seal the packs of processes that died before sealing them; return how many."""
        try:
            return seal_abandoned(self.pack_dir)
        except OSError as exc:  # they stay unsealed (still readable) for the next to try
            log.error("could not seal abandoned blob packs: %r", exc)
            return 0

    def _seal_at_exit(self, timeout: float = 10.0) -> None:
        """At a clean exit, seal this process's packs: else the next process would."""
        with self._lock:
            if self._writer_pid != os.getpid():
                return  # a child's exit
            last = self._open
        # Requests are done by now; let the committer finish syncing what they appended.
        last.done.wait(timeout if last.packs else 0)
        with self._lock:
            packs = [*self._full, self._pack, self._spare]
            self._full, self._pack, self._spare = [], None, None
            self._writer_pid = None
            self._wake.notify()  # the committer stops
        for pack in packs:
            if pack is not None:
                try:
                    pack.seal()
                except OSError as exc:
                    log.error("could not seal blob pack %s: %r", pack.path.name, exc)

    def _commit_rounds(self) -> None:
        while True:
            with self._lock:
                while not self._busy and self._writer_pid == os.getpid():
                    self._wake.wait()
                if self._writer_pid != os.getpid():
                    return  # sealed at exit
                current, self._open = self._open, _Round()
                # Retired before the round was taken: every record they hold was appended
                # in this round or an earlier one, so this round's sync covers them.
                full, self._full = self._full, []
            try:
                if self.fsync:
                    for pack in dict.fromkeys([*full, *current.packs]):
                        pack.sync()
            except Exception as exc:
                # Its waiters fail (503: the network sends the body again).
                log.error("blob store sync failed: %r", exc)
                current.error = exc
                with self._lock:
                    # After a failed fdatasync the kernel may have dropped the pack's dirty
                    # pages: no later sync of it could vouch for its records. The next
                    # blob starts another.
                    if self._pack in current.packs:
                        self._pack_failed = True
            current.done.set()
            for pack in full:
                try:
                    pack.seal()
                except OSError as exc:  # left unsealed: the next process to start seals it
                    log.error("could not seal blob pack %s: %r", pack.path.name, exc)
            self._prepare_spare()

    def _prepare_spare(self) -> None:
        """Create the next pack once the current one is half full, off the request path."""
        with self._lock:
            pack = self._pack
            if self._spare is not None or pack is None or pack.used < pack.size // 2:
                return
        try:
            spare = PackWriter.create(self.pack_dir, self._pack_size)
        except OSError as exc:  # a request will try again when it needs one
            log.error("could not prepare a blob pack: %r", exc)
            return
        with self._lock:
            if self._spare is None and self._writer_pid == os.getpid():
                self._spare, spare = spare, None
        if spare is not None:
            spare.seal()  # not needed after all: an empty pack is deleted
