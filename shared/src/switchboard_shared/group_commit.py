"""Group commit for the blob store: concurrent writers share the filesystem syncs.

A webhook must not be acknowledged before its raw body is durable, and two fsyncs a request
(the file, then its directory) cost more CPU and disk time than the rest of the request.
`GroupCommitBlobStore.start_put` writes the blob to a temp file in the caller's thread and
returns at once; one committer thread per process makes everything written meanwhile
durable, one filesystem sync a round, pipelined as a database's log group commit is:

    sync n      makes durable the contents of round n's temp files and the names of round n-1
                (whose waiters are released)
    rename      round n's temp files to their names: their contents are on disk, so a crash
                can never leave a name pointing at torn bytes
    sync n+1    makes round n's names durable, and so on

A blob waits for at most three syncs, and a busy process pays one sync a round however many
requests the round holds. Without syncfs(2) a sync is one fsync per file and directory, as
in `FilesystemBlobStore.put_many`.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import secrets
import threading
from pathlib import Path

from switchboard_shared.blobstore import FilesystemBlobStore, _write_new, sha256_hex

log = logging.getLogger(__name__)


class _Round:
    """Blobs made durable by the same syncs; its waiters are released together."""

    __slots__ = ("done", "error", "writes")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.writes: list[tuple[str, Path]] = []  # (temp file, name)


_DURABLE = _Round()  # stored before: nothing to wait for
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


def _failed(sha256: str, error: BaseException) -> PendingBlob:
    round_ = _Round()
    round_.error = error
    round_.done.set()
    return PendingBlob(sha256, round_)


class GroupCommitBlobStore(FilesystemBlobStore):
    """A FilesystemBlobStore whose `start_put` shares syncs with concurrent writers."""

    def __init__(self, root: Path, fsync: bool = True) -> None:
        super().__init__(root, fsync)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._open = _Round()  # what the next round will sync
        self._inflight: dict[str, _Round] = {}  # written, name not durable yet
        self._committer_pid: int | None = None
        self._token = ""  # this process's part of temp file names
        self._serial = itertools.count()

    def start_put(self, data: bytes) -> PendingBlob:
        """Write `data` now and return at once; the result says when it is durable."""
        digest = sha256_hex(data)
        if not self.fsync:
            try:
                self.put(data)
            except OSError as exc:
                return _failed(digest, exc)
            return PendingBlob(digest, _DURABLE)
        with self._lock:
            self._ensure_committer()
            round_ = self._inflight.get(digest)
        if round_ is not None:
            return PendingBlob(digest, round_)
        # No exists() check: a redelivered body is rare, and renaming identical bytes over
        # its blob is harmless, while every system call costs a busy process's thread a
        # wait for the GIL.
        target = self._path(digest)
        tmp = str(target.parent / f".tmp-{digest[:16]}-{self._token}-{next(self._serial)}")
        try:
            try:
                _write_holding_gil(tmp, data)
            except FileNotFoundError:  # the blob's directory does not exist yet
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_holding_gil(tmp, data)
        except OSError as exc:
            return _failed(digest, exc)
        with self._lock:
            round_ = self._inflight.get(digest)
            if round_ is None:  # else a concurrent writer of the same bytes came first
                round_ = self._inflight[digest] = self._open
                round_.writes.append((tmp, target))
                self._wake.notify()
                return PendingBlob(digest, round_)
        Path(tmp).unlink(missing_ok=True)
        return PendingBlob(digest, round_)

    def _ensure_committer(self) -> None:
        """Start this process's committer thread (again in a child after a fork)."""
        if self._committer_pid == os.getpid():
            return
        self._committer_pid = os.getpid()
        self._token = secrets.token_hex(6)
        self._open = _Round()
        self._inflight = {}
        threading.Thread(target=self._commit_rounds, name="blob-commit", daemon=True).start()

    def _commit_rounds(self) -> None:
        renamed: _Round | None = None  # names written, not durable yet
        while True:
            with self._lock:
                while not self._open.writes and renamed is None:
                    self._wake.wait()
                current, self._open = self._open, _Round()
            paths: list[str | Path] = [tmp for tmp, _target in current.writes]
            if renamed is not None:
                paths.extend({target.parent for _tmp, target in renamed.writes})
            try:
                self._sync(paths)
            except Exception as exc:
                log.error("blob store sync failed: %r", exc)
                self._settle(renamed, exc)
                self._discard(current, exc)
                renamed = None
                continue
            self._settle(renamed, None)
            try:
                for tmp, target in current.writes:
                    _rename_holding_gil(tmp, target)
            except Exception as exc:
                # Its waiters fail; the names already given are still synced next round.
                log.error("blob store rename failed: %r", exc)
                current.error = exc
                for tmp, _target in current.writes:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
            renamed = current if current.writes else None

    def _settle(self, round_: _Round | None, error: BaseException | None) -> None:
        """Release a round's waiters, with the error that kept its blobs from being durable."""
        if round_ is None:
            return
        round_.error = round_.error or error
        with self._lock:
            for _tmp, target in round_.writes:
                if self._inflight.get(target.name) is round_:
                    del self._inflight[target.name]
        round_.done.set()

    def _discard(self, round_: _Round, error: BaseException) -> None:
        """Fail a round whose contents may not be durable: none of its names may remain."""
        for tmp, _target in round_.writes:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._settle(round_, error)


# Every system call made through `os` releases the GIL, and in a process whose 16 threads
# all want it, getting it back took a request 1 to 3 ms a call (measured): more than the
# call itself. A temp file's open, fchmod, write and close, and a rename, take microseconds
# on a local disk, so they are made through libc without releasing the GIL (ctypes.PyDLL).
# The syncs, which wait for the disk, still go through `os` and let the other threads run.
try:
    _libc = ctypes.PyDLL(None, use_errno=True)
    _libc.open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    _libc.fchmod.argtypes = [ctypes.c_int, ctypes.c_uint]
    _libc.write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    _libc.write.restype = ctypes.c_ssize_t
    _libc.close.argtypes = [ctypes.c_int]
    _libc.rename.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
except (OSError, AttributeError):  # no C library to call: use os, releasing the GIL
    _libc = None

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def _check(result: int, path: str | Path) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(path))  # FileNotFoundError for ENOENT
    return result


def _write_holding_gil(path: str, data: bytes) -> None:
    """`blobstore._write_new` (a new 0644 file holding `data`) without releasing the GIL."""
    if _libc is None:
        _write_new(path, data)
        return
    fd = _check(_libc.open(os.fsencode(path), _NEW_FILE, 0o644), path)
    try:
        _check(_libc.fchmod(fd, 0o644), path)  # every service reads it, whatever the umask
        view = memoryview(data)[_check(_libc.write(fd, data, len(data)), path) :]
        while view:  # a short write: finish the usual way
            view = view[os.write(fd, view) :]
    except BaseException:
        _libc.close(fd)
        Path(path).unlink(missing_ok=True)
        raise
    _check(_libc.close(fd), path)


def _rename_holding_gil(source: str, target: Path) -> None:
    """`os.replace` without releasing the GIL."""
    if _libc is None:
        os.replace(source, target)
        return
    _check(_libc.rename(os.fsencode(source), os.fsencode(target)), source)
