"""A write-ahead journal: blobs made durable by one fdatasync of one preallocated file.

Syncing the blob files themselves costs a filesystem journal commit, which also waits for
everything else the machine wrote meanwhile (RabbitMQ's queue files, say): under load a
syncfs took 5-15 ms and now and then over a second. So, as a database does with its log,
each process appends every blob it writes to its own journal file, written full of zeros
once so that appending only overwrites allocated blocks, and `fdatasync` of that one file
then touches no filesystem metadata. The blob files are flushed later by a checkpoint (one
filesystem sync when the journal is full), after which the journal starts over.

A journal's owner holds an exclusive `flock` on it while it lives. `replay_abandoned`
finds the journals whose owner died, stores their blobs again (a no-op for blobs found
intact), syncs the filesystem and deletes them. A record names its blob (the sha256 of its
bytes) and carries the journal's generation, so a torn record, or one left from before the
last checkpoint, ends the replay instead of being trusted.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import secrets
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from switchboard_shared.blobstore import sha256_hex

log = logging.getLogger(__name__)

DEFAULT_SIZE = 8 << 20  # a checkpoint every 8,000 webhooks of 1 KB
_MAGIC = b"SBJ1"
_HEADER = struct.Struct("<4sQ")  # magic, generation
_RECORD = struct.Struct("<4sQI32s")  # magic, generation, length, sha256
_FIRST_RECORD = 4096  # the header has a block of its own
_SUFFIX = ".journal"

# pwrite through libc keeps the GIL: a 1 KB write into the page cache takes microseconds,
# and winning the GIL back from 15 busy threads after `os.pwrite` released it took more.
try:
    _pwrite = ctypes.PyDLL(None, use_errno=True).pwrite
    _pwrite.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
    _pwrite.restype = ctypes.c_ssize_t
except (OSError, AttributeError):
    _pwrite = None


class BlobJournal:
    """One process's journal file; not thread-safe (its store serializes the appends)."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self._fd = fd
        self._size = size
        self._generation = 1
        self._offset = _FIRST_RECORD

    @classmethod
    def create(cls, directory: Path, size: int = DEFAULT_SIZE) -> BlobJournal:
        """Create, zero-fill and lock a new journal in `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(8)
        # Written and locked under a temporary name, so that no other process's
        # `replay_abandoned` can take it for a dead one's before it is locked.
        building = directory / f".{name}.new"
        fd = os.open(building, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            zeros = bytes(1 << 20)
            for offset in range(0, size, len(zeros)):
                os.pwrite(fd, zeros[: size - offset], offset)
            os.pwrite(fd, _HEADER.pack(_MAGIC, 1), 0)
            os.fsync(fd)
            path = directory / f"{name}{_SUFFIX}"
            os.rename(building, path)
            _fsync_directory(directory)
        except BaseException:
            os.close(fd)
            building.unlink(missing_ok=True)
            raise
        return cls(path, fd, size)

    def append(self, digest: str, data: bytes) -> bool:
        """Write a record of the blob; False if the journal has no room for it."""
        end = self._offset + _RECORD.size + len(data)
        if end > self._size:
            return False
        record = _RECORD.pack(_MAGIC, self._generation, len(data), bytes.fromhex(digest)) + data
        _write_at(self._fd, record, self._offset)
        self._offset = end
        return True

    def sync(self) -> None:
        """Make every record appended so far durable."""
        os.fdatasync(self._fd)

    def restart(self) -> None:
        """Start over after a checkpoint made every recorded blob durable by itself.

        The new generation's header needs no sync of its own: the next `sync` flushes it
        with the first records, and until then a replay finds only blobs already durable.
        """
        self._generation += 1
        self._offset = _FIRST_RECORD
        _write_at(self._fd, _HEADER.pack(_MAGIC, self._generation), 0)

    def remove(self) -> None:
        """Delete the journal once every blob it records is durable by itself."""
        self.path.unlink(missing_ok=True)
        os.close(self._fd)


def replay_abandoned(
    directory: Path,
    store: Callable[[str, bytes], None],
    sync: Callable[[list[str]], None],
) -> list[str]:
    """Store the blobs of every journal whose owner died, then delete those journals.

    `store(digest, data)` writes a blob at its name and `sync(digests)` makes them durable,
    before any journal is deleted. Returns the digests replayed.
    """
    digests: list[str] = []
    abandoned: list[tuple[Path, int]] = []
    try:
        for path in directory.glob(".*.new"):  # a journal whose builder died
            _remove_if_abandoned(path)
        for path in sorted(directory.glob(f"*{_SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # another process replayed it meanwhile
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its owner lives
                os.close(fd)
                continue
            abandoned.append((path, fd))
            with open(fd, "rb", closefd=False) as fh:
                for digest, data in records(fh.read()):
                    store(digest, data)
                    digests.append(digest)
        if abandoned:
            sync(digests)
            for path, _ in abandoned:
                path.unlink(missing_ok=True)
            _fsync_directory(directory)
            log.info("replayed %d blobs from %d abandoned journals", len(digests), len(abandoned))
    finally:
        for _, fd in abandoned:
            os.close(fd)
    return digests


def records(content: bytes) -> Iterator[tuple[str, bytes]]:
    """The valid records of a journal's content, up to the first torn or stale one."""
    if len(content) < _HEADER.size:
        return
    magic, generation = _HEADER.unpack_from(content, 0)
    if magic != _MAGIC:
        return
    offset = _FIRST_RECORD
    while offset + _RECORD.size <= len(content):
        magic, record_generation, length, raw_digest = _RECORD.unpack_from(content, offset)
        start = offset + _RECORD.size
        data = content[start : start + length]
        digest = raw_digest.hex()
        if (
            magic != _MAGIC
            or record_generation != generation
            or len(data) != length
            or sha256_hex(data) != digest
        ):
            return
        yield digest, data
        offset = start + length


def _remove_if_abandoned(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink(missing_ok=True)
    except BlockingIOError:  # still being built
        pass
    finally:
        os.close(fd)


def _write_at(fd: int, data: bytes, offset: int) -> None:
    written = 0
    if _pwrite is not None:
        written = _pwrite(fd, data, len(data), offset)
        if written < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
    view = memoryview(data)[written:]
    while view:  # no libc, or a short write
        done = os.pwrite(fd, view, offset + len(data) - len(view))
        view = view[done:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
