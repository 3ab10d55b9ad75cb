"""Pack files: small blobs stored together, made durable by one fdatasync of one file.

A blob file of its own costs a new inode and directory entry: creating one took a third of
a busy webhook worker's time, and making it durable costs a filesystem journal commit,
which also waits for everything else the machine wrote meanwhile (RabbitMQ's queue files,
say). So, as git packs objects and a database appends to its log, each writing process
appends small blobs to a pack file of its own, written full of zeros when it is created:
appending then only overwrites allocated blocks, and an `fdatasync` of the pack writes no
filesystem metadata at all.

A pack is `<name>.pack` in the store's `.packs/` directory: a header block, then records
(magic, length, sha256, bytes). Its writer holds an exclusive `flock` on it while it fills
it. A full pack, or the last one at a clean exit, is sealed by its writer: the unused zeros
are cut off, and `<name>.idx` lists the records' digests, sorted, with their offsets. A
pack whose writer died unsealed is sealed by the next writer to start (`seal_abandoned`),
trusting its records up to the first torn one: every acknowledged record was synced, with
all the records before it, so no torn record, nor any after it, was acknowledged.

`PackReader` finds a blob by binary search in each sealed pack's index, or by scanning an
unsealed pack, and checks the bytes against their name before it returns them.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import hashlib
import logging
import mmap
import os
import secrets
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_SIZE = 8 << 20  # a new pack every 8,000 webhooks of 1 KB
_MAGIC = b"SBP1"
_FIRST_RECORD = 4096  # the header (the magic) has a block of its own
_RECORD = struct.Struct("<4sI32s")  # magic, length, sha256
_INDEX_MAGIC = b"SBX1"
_INDEX_HEADER = struct.Struct("<4sI")  # magic, number of entries
_ENTRY = struct.Struct("<32sQI")  # sha256, offset of the bytes, length
_CHECKSUM = 32  # an index ends with the sha256 of all before it
PACK_SUFFIX = ".pack"
INDEX_SUFFIX = ".idx"

# pwrite through libc keeps the GIL: a 1 KB write into the page cache takes microseconds,
# and winning the GIL back from 15 busy threads after `os.pwrite` released it took more.
try:
    _pwrite = ctypes.PyDLL(None, use_errno=True).pwrite
    _pwrite.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
    _pwrite.restype = ctypes.c_ssize_t
except (OSError, AttributeError):
    _pwrite = None


class PackWriter:
    """One process's pack being filled; not thread-safe (its store serializes appends)."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self._fd = fd
        self.size = size
        self.used = _FIRST_RECORD
        self._entries: dict[bytes, tuple[int, int]] = {}  # sha256 -> offset, length

    @classmethod
    def create(cls, directory: Path, size: int = DEFAULT_SIZE) -> PackWriter:
        """Create, zero-fill and lock a new pack in `directory`."""
        try:
            directory.mkdir(parents=True)
            os.chmod(directory, 0o755)  # noqa: S103 - whatever the umask, all services read
        except FileExistsError:
            pass
        # Names sort by creation time: readers look in the newest packs first.
        name = f"{time.time_ns():016x}-{secrets.token_hex(4)}"
        # Written and locked under a temporary name, so that no other process's
        # `seal_abandoned` can take it for a dead writer's before it is locked.
        building = directory / f".{name}.new"
        fd = os.open(building, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.fchmod(fd, 0o644)  # whatever the umask: every service reads packs
            zeros = bytes(1 << 20)
            for offset in range(0, size, len(zeros)):
                os.pwrite(fd, zeros[: size - offset], offset)
            os.pwrite(fd, _MAGIC, 0)
            os.fsync(fd)
            path = directory / f"{name}{PACK_SUFFIX}"
            os.rename(building, path)
            _fsync_directory(directory)
        except BaseException:
            os.close(fd)
            building.unlink(missing_ok=True)
            raise
        return cls(path, fd, size)

    def holds(self, digest: str) -> bool:
        """Say whether this pack already has a record of the blob."""
        return bytes.fromhex(digest) in self._entries

    def append(self, digest: str, data: bytes) -> bool:
        """Write a record of the blob (not yet durable); False if the pack has no room."""
        end = self.used + _RECORD.size + len(data)
        if end > self.size:
            return False
        raw = bytes.fromhex(digest)
        _write_at(self._fd, _RECORD.pack(_MAGIC, len(data), raw) + data, self.used)
        self._entries.setdefault(raw, (self.used + _RECORD.size, len(data)))
        self.used = end
        return True

    def sync(self) -> None:
        """Make every record appended so far durable."""
        os.fdatasync(self._fd)

    def seal(self) -> None:
        """Index the pack, cut off its unused zeros and let it go; or delete it if empty.

        Only for a pack whose records were all synced (or failed and were not acknowledged).
        """
        try:
            _seal(self.path, self._fd, self.used, self._entries)
        finally:
            self.close()

    def close(self) -> None:
        """Close the pack without sealing it (a child process's copy of its parent's)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def seal_abandoned(directory: Path) -> int:
    """Seal every pack whose writer died before sealing it; return how many were sealed."""
    sealed = 0
    for path in directory.glob(".*.new"):  # a pack whose builder died
        _remove_if_abandoned(path)
    for path in sorted(directory.glob(f"*{PACK_SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:  # another process sealed it (empty) meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its writer lives
            os.close(fd)
            continue
        try:
            if _Index.load(path.with_suffix(INDEX_SUFFIX)) is not None:
                continue  # sealed by its writer
            with open(fd, "rb", closefd=False) as fh:
                content = fh.read()
            if content[: len(_MAGIC)] != _MAGIC:  # its header, synced when built, is lost
                log.error("blob pack %s has no valid header: left as it is", path.name)
                continue
            entries: dict[bytes, tuple[int, int]] = {}
            end = _FIRST_RECORD
            for raw, offset, length in records(content):
                entries.setdefault(raw, (offset, length))
                end = offset + length
            _seal(path, fd, end, entries)
            sealed += 1
            log.info("sealed abandoned blob pack %s (%d blobs)", path.name, len(entries))
        finally:
            os.close(fd)
    return sealed


class ProcessPack:
    """The pack this process appends to in one directory, and the full ones it retired.

    Created at the first append, and again in a child after a fork: the child closes its
    copies of the parent's packs, which would keep the parent's locks after it died. A full
    pack is retired to `full`, for its owner to seal once its records are durable, and
    `spare` (made ready by the owner, or created on the spot) takes over. At a clean exit
    every pack is sealed. The owner calls `append` and `roll_over` holding `lock`.
    """

    def __init__(
        self,
        directory: Path,
        size: int = DEFAULT_SIZE,
        on_start: Callable[[], None] | None = None,
        before_exit: Callable[[], None] | None = None,
    ) -> None:
        self.directory = directory
        self.size = size
        self.lock = threading.Lock()
        self.current: PackWriter | None = None
        self.spare: PackWriter | None = None
        self.full: list[PackWriter] = []
        self.failed = False  # a sync of `current` failed: no later sync can vouch for it
        self._on_start = on_start
        self._before_exit = before_exit
        self._pid: int | None = None

    @property
    def active(self) -> bool:
        """Whether this process writes packs (started, and not yet sealed at exit)."""
        return self._pid == os.getpid()

    def takes(self, data: bytes) -> bool:
        """Whether a blob this size goes in a pack (a bigger one would leave it half empty)."""
        return len(data) <= self.size // 4

    def append(self, digest: str, data: bytes) -> PackWriter:
        """Record the blob (once per pack) and return the pack that holds it."""
        if not self.active:
            self._start()
        pack = self.roll_over() if self.failed else self.current
        if not pack.holds(digest) and not pack.append(digest, data):
            pack = self.roll_over()
            pack.append(digest, data)
        return pack

    def roll_over(self) -> PackWriter:
        """Retire the current pack to `full` and start the next one."""
        # If creating one fails, nothing changed, and the caller's blob fails with it.
        fresh = self.spare or PackWriter.create(self.directory, self.size)
        self.spare = None
        self.full.append(self.current)
        self.current = fresh
        self.failed = False
        return fresh

    def prepare_spare(self) -> None:
        """Create the next pack once the current one is half full (call it unlocked)."""
        with self.lock:
            pack = self.current
            if self.spare is not None or pack is None or pack.used < pack.size // 2:
                return
        try:
            spare = PackWriter.create(self.directory, self.size)
        except OSError as exc:  # roll_over will try again when it needs one
            log.error("could not prepare a blob pack: %r", exc)
            return
        with self.lock:
            if self.spare is None and self.active:
                self.spare, spare = spare, None
        if spare is not None:
            spare.seal()  # not needed after all: an empty pack is deleted

    def take_full(self) -> list[PackWriter]:
        """The retired packs, for the caller to seal once their records are durable."""
        with self.lock:
            full, self.full = self.full, []
        return full

    def _start(self) -> None:
        for inherited in (self.current, self.spare, *self.full):
            if inherited is not None:
                inherited.close()
        self.full, self.spare, self.failed = [], None, False
        self.current = PackWriter.create(self.directory, self.size)
        self._pid = os.getpid()
        threading.Thread(target=self._seal_abandoned, name="blob-seal", daemon=True).start()
        atexit.register(self._seal_at_exit)
        if self._on_start is not None:
            self._on_start()

    def _seal_abandoned(self) -> None:
        try:
            seal_abandoned(self.directory)
        except OSError as exc:  # they stay unsealed (still readable) for the next to try
            log.error("could not seal abandoned blob packs: %r", exc)

    def _seal_at_exit(self) -> None:
        if not self.active:
            return  # a child's exit, or sealed already
        if self._before_exit is not None:
            self._before_exit()
        with self.lock:
            packs = [*self.full, self.current, self.spare]
            self.full, self.current, self.spare = [], None, None
            self._pid = None
        seal_all(packs)


def seal_all(packs: Iterable[PackWriter | None]) -> None:
    """Seal each pack whose records are durable; log (and leave unsealed) any that fails."""
    for pack in packs:
        if pack is None:
            continue
        try:
            pack.seal()
        except OSError as exc:  # left unsealed: the next process to start seals it
            log.error("could not seal blob pack %s: %r", pack.path.name, exc)


def records(
    content: bytes, start: int = _FIRST_RECORD, base: int = 0
) -> Iterator[tuple[bytes, int, int]]:
    """The valid records (sha256, offset, length) of a pack from file offset `start` on.

    `content` is the pack's bytes from file offset `base` on. The records end at the first
    torn one, or at the zeros after the last.
    """
    offset = start
    while offset + _RECORD.size <= base + len(content):
        magic, length, raw = _RECORD.unpack_from(content, offset - base)
        begin = offset + _RECORD.size
        data = content[begin - base : begin - base + length]
        if magic != _MAGIC or len(data) != length or hashlib.sha256(data).digest() != raw:
            return
        yield raw, begin, length
        offset = begin + length


class PackReader:
    """Finds blobs in the packs of one directory; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._indexes: dict[str, _Index] = {}  # sealed packs: never change again
        self._scans: dict[str, _Scan] = {}  # packs being filled, scanned so far

    def get(self, digest: str) -> bytes | None:
        """The blob's bytes, if a pack holds them intact; else None."""
        raw = bytes.fromhex(digest)
        try:
            names = sorted(
                (entry.name for entry in os.scandir(self.directory)),
                reverse=True,  # newest first: recent blobs are the ones read
            )
        except FileNotFoundError:
            return None
        for name in names:
            if not name.endswith(PACK_SUFFIX) or name.startswith("."):
                continue
            path = self.directory / name
            with self._lock:
                location = self._locate(path, raw)
            if location is None:
                continue
            data = _read(path, *location)
            if data is not None and hashlib.sha256(data).digest() == raw:
                return data
        return None

    def _locate(self, path: Path, raw: bytes) -> tuple[int, int] | None:
        index = self._indexes.get(path.name)
        if index is None:
            index = _Index.load(path.with_suffix(INDEX_SUFFIX))
            if index is not None:
                self._indexes[path.name] = index
                self._scans.pop(path.name, None)
        if index is not None:
            return index.find(raw)
        return self._scans.setdefault(path.name, _Scan()).find(path, raw)


class _Index:
    """A sealed pack's index: entries sorted by sha256, searched in place."""

    def __init__(self, content: bytes | mmap.mmap, count: int) -> None:
        self._content = content
        self._count = count

    @classmethod
    def load(cls, path: Path) -> _Index | None:
        """The index at `path`, or None if there is none or it is not intact."""
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < _INDEX_HEADER.size + _CHECKSUM:
                    return None
                content = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            return None
        magic, count = _INDEX_HEADER.unpack_from(content, 0)
        body = _INDEX_HEADER.size + count * _ENTRY.size
        if (
            magic != _INDEX_MAGIC
            or size != body + _CHECKSUM
            or hashlib.sha256(content[:body]).digest() != content[body:]
        ):
            content.close()
            return None
        return cls(content, count)

    def find(self, raw: bytes) -> tuple[int, int] | None:
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            start = _INDEX_HEADER.size + middle * _ENTRY.size
            if self._content[start : start + 32] < raw:
                low = middle + 1
            else:
                high = middle
        if low == self._count:
            return None
        found, offset, length = _ENTRY.unpack_from(
            self._content, _INDEX_HEADER.size + low * _ENTRY.size
        )
        return (offset, length) if found == raw else None


class _Scan:
    """An unsealed pack's records read so far; read on from there when a name is missing."""

    def __init__(self) -> None:
        self._next = _FIRST_RECORD
        self._found: dict[bytes, tuple[int, int]] = {}

    def find(self, path: Path, raw: bytes) -> tuple[int, int] | None:
        if raw not in self._found:
            try:
                with open(path, "rb") as fh:
                    self._read_on(fh.fileno())
            except FileNotFoundError:
                return None
        return self._found.get(raw)

    def _read_on(self, fd: int) -> None:
        # Record by record: the zeros after the last cost one read, not the pack's size.
        if os.pread(fd, len(_MAGIC), 0) != _MAGIC:
            return
        while True:
            header = os.pread(fd, _RECORD.size, self._next)
            if len(header) < _RECORD.size:
                return
            magic, length, raw = _RECORD.unpack(header)
            if magic != _MAGIC:
                return
            data = os.pread(fd, length, self._next + _RECORD.size)
            if len(data) != length or hashlib.sha256(data).digest() != raw:
                return
            self._found.setdefault(raw, (self._next + _RECORD.size, length))
            self._next += _RECORD.size + length


def _seal(path: Path, fd: int, end: int, entries: dict[bytes, tuple[int, int]]) -> None:
    if not entries:  # nothing was stored in it
        path.unlink(missing_ok=True)
        return
    os.ftruncate(fd, end)
    os.fsync(fd)
    body = _INDEX_HEADER.pack(_INDEX_MAGIC, len(entries)) + b"".join(
        _ENTRY.pack(raw, *entries[raw]) for raw in sorted(entries)
    )
    index = path.with_suffix(INDEX_SUFFIX)
    # Only the pack's lock holder writes its index: a fixed temporary name is safe.
    building = path.parent / f".{index.name}.new"
    with open(building, "wb") as fh:
        fh.write(body + hashlib.sha256(body).digest())
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(building, 0o644)
    os.rename(building, index)
    _fsync_directory(path.parent)


def _read(path: Path, offset: int, length: int) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)
    except FileNotFoundError:
        return None


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
