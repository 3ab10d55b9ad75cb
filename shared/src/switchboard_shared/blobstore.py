"""Content-addressed storage for raw payloads and attachments.

Blobs are named by the sha256 of their bytes, so storing the same payload again writes
nothing, and a name says exactly which bytes it must hold: a put checks them and rewrites a
blob a crash left torn. `FilesystemBlobStore` keeps them on a volume shared by the services:
a blob stored in a batch (`write_many`, or a `GroupCommitBlobStore`'s `start_put`) in the
writing process's pack file (`blob_pack`) unless it is big, any other in a file of its own;
another backend (S3, say) implements the `BlobStore` protocol.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from switchboard_shared.blob_pack import DEFAULT_SIZE, PackReader, ProcessPack, seal_all

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    """No blob is stored under that sha256."""


class BlobStore(Protocol):
    """What every blob backend offers."""

    def put(self, data: bytes) -> str:
        """Store `data` durably and return its sha256 (hex)."""

    def put_many(self, blobs: Iterable[bytes]) -> list[str]:
        """Store every blob durably (cheaper than one put each); return their sha256s."""

    def write_many(self, blobs: Iterable[bytes]) -> list[str]:
        """Store every blob, not yet durably; return their sha256s (then `sync` them)."""

    def sync(self, digests: Iterable[str]) -> None:
        """Make blobs stored by `write_many` (in any process) durable."""

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under `sha256`, or raise BlobNotFound."""

    def exists(self, sha256: str) -> bool:
        """Say whether a blob is stored under `sha256`."""

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for reading, or raise BlobNotFound."""


def sha256_hex(data: bytes) -> str:
    """Return the name a blob with these bytes is stored under."""
    return hashlib.sha256(data).hexdigest()


class FilesystemBlobStore:
    """Blobs as files `ab/cd/abcd...` under a root directory, or in its packs."""

    def __init__(self, root: Path, fsync: bool = True, pack_size: int = DEFAULT_SIZE) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)
        self._reader = PackReader(self.pack_dir)
        self._packs = ProcessPack(self.pack_dir, pack_size)  # what write_many packs

    @property
    def pack_dir(self) -> Path:
        """Where the processes that pack blobs keep their pack files."""
        return self.root / ".packs"

    def put(self, data: bytes) -> str:
        """Store `data` durably (fsync of the blob and its directory); return its sha256."""
        digest = sha256_hex(data)
        target = self._path(digest)
        store_at(target, digest, data)
        if self.fsync:
            # Even a blob found intact: it may be another writer's, not yet synced.
            _fsync_path(target)
            _fsync_path(target.parent)
        return digest

    def put_many(self, blobs: Iterable[bytes]) -> list[str]:
        """Store every blob with one filesystem sync in all; return their sha256s."""
        digests = self.write_many(blobs)
        self.sync(digests)
        return digests

    def write_many(self, blobs: Iterable[bytes]) -> list[str]:
        """Store every blob, not durable until `sync`; return their sha256s.

        Small blobs are appended to this process's pack file (one new file per blob cost
        more than parsing a mail); a big one, or one whose file already exists, is stored
        at its name. Nothing may be acknowledged before the sync; a crash before it may
        leave a name over torn bytes, which the next put of the same bytes repairs (see
        `store_at`), or a torn pack record, which ends that pack's records.
        """
        digests: list[str] = []
        stored: set[str] = set()
        for data in blobs:
            digest = sha256_hex(data)
            digests.append(digest)
            if digest in stored:
                continue
            stored.add(digest)
            # An existing file is read before any pack: it must hold these bytes. (A str
            # path: building a Path cost more than the rest of packing a small mail.)
            if self._packs.takes(data) and not os.path.exists(self._file(digest)):
                with self._packs.lock:
                    self._packs.append(digest, data)
            else:
                store_at(self._path(digest), digest, data)
        seal_all(self._packs.take_full())  # a seal syncs the pack's records itself
        return digests

    def sync(self, digests: Iterable[str]) -> None:
        """Make the named blobs durable with one filesystem sync (nothing to do with fsync off).

        Any process may sync what another wrote, in files or packs: syncfs covers the
        whole filesystem, and without it sync(2) covers every one. Even a blob found
        intact is synced: it may be another writer's, not yet durable.
        """
        if self.fsync and any(True for _ in digests):
            self._sync()

    def sync_filesystem(self) -> bool:
        """Flush everything written to the store's filesystem; False if that is unsupported."""
        return _syncfs(self.root)

    def _sync(self) -> None:
        """Make everything written to the store durable: one syncfs, else one sync."""
        if not self.sync_filesystem():
            os.sync()

    def get(self, sha256: str) -> bytes:
        """Return the stored bytes."""
        with self.open(sha256) as fh:
            return fh.read()

    def exists(self, sha256: str) -> bool:
        """Say whether the blob is stored."""
        if _SHA256.match(sha256 or "") is None:
            return False
        return self._path(sha256).exists() or self._reader.get(sha256) is not None

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for reading (a packed blob is small: its bytes are read at once)."""
        if not _SHA256.match(sha256 or ""):
            raise BlobNotFound(sha256)
        try:
            return self._path(sha256).open("rb")
        except FileNotFoundError:
            pass
        data = self._reader.get(sha256)
        if data is None:
            raise BlobNotFound(sha256)
        return io.BytesIO(data)

    def _file(self, digest: str) -> str:
        return f"{self._root}/{digest[:2]}/{digest[2:4]}/{digest}"

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest


def store_at(target: Path, digest: str, data: bytes) -> None:
    """Make `target` hold `data` (named `digest`), written now but not yet durable.

    The caller syncs before it acknowledges anything. A new blob is written in place, not
    to a temp file renamed after its sync: that rename cost more than the write, and a
    blob's name is only handed out (in an event) once the write is done. A crash before
    the sync can therefore leave a name over empty, short or zeroed bytes, so an existing
    name is trusted only if it holds exactly these bytes, and replaced whole otherwise; the
    source, never acknowledged, sends the same payload again and this repairs it.
    """
    try:
        try:
            _write_new(str(target), data)
        except FileNotFoundError:  # the blob's directory does not exist yet
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_new(str(target), data)
        return
    except FileExistsError:
        pass
    if _holds(target, digest, len(data)):
        return
    # Torn by a crash, or a concurrent writer's still being written: replace it atomically.
    tmp = str(target.parent / f".tmp-{digest[:16]}-{secrets.token_hex(6)}")
    _write_new(tmp, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _holds(path: Path, digest: str, size: int) -> bool:
    """Say whether the file at `path` holds exactly the `size` bytes named `digest`."""
    # The size catches most tears for an fstat, the hash the rest (a re-put blob is usually
    # still in the page cache, and re-puts are rare apart from small repeated attachments).
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size != size:
                return False
            # One read, not file_digest: its 256 KiB buffer costs more than a small blob.
            return sha256_hex(fh.read()) == digest
    except FileNotFoundError:
        return False


# Every system call made through `os` releases the GIL, and in a process whose 16 threads
# all want it, getting it back took a request 1 to 3 ms a call (measured): more than the
# call itself. A new file's open, fchmod, write and close take microseconds, so they are
# made through libc without releasing the GIL (ctypes.PyDLL). The syncs, which wait for
# the disk, still go through `os` and let the other threads run.
try:
    _libc = ctypes.PyDLL(None, use_errno=True)
    _libc.open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    _libc.fchmod.argtypes = [ctypes.c_int, ctypes.c_uint]
    _libc.write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    _libc.write.restype = ctypes.c_ssize_t
    _libc.close.argtypes = [ctypes.c_int]
except (OSError, AttributeError):  # no C library to call: use os, releasing the GIL
    _libc = None

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def _write_new(path: str, data: bytes) -> None:
    """Write `data` to a file that must not exist yet, readable by every service (0644)."""
    if _libc is None:
        fd = os.open(path, _NEW_FILE, 0o644)
    else:
        fd = _checked(_libc.open(os.fsencode(path), _NEW_FILE, 0o644), path)
    try:
        if _libc is None:
            os.fchmod(fd, 0o644)
            written = 0
        else:
            _checked(_libc.fchmod(fd, 0o644), path)  # whatever the umask: others read it
            written = _checked(_libc.write(fd, data, len(data)), path)
        view = memoryview(data)[written:]
        while view:  # no libc, or a short write: finish the usual way
            view = view[os.write(fd, view) :]
    except BaseException:
        _remove_own(path, fd)
        raise
    os.close(fd)


def _checked(result: int, path: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), path)  # FileNotFoundError for ENOENT, ...
    return result


def _remove_own(path: str, fd: int) -> None:
    """Close a file that could not be written and unlink it, unless another replaced it."""
    try:
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_path(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


try:
    _libc_syncfs = ctypes.CDLL(None, use_errno=True).syncfs
except (OSError, AttributeError):  # not Linux/glibc: put_many falls back to fsyncs
    _libc_syncfs = None


def _syncfs(path: Path) -> bool:
    """Flush the whole filesystem holding `path` (Linux syncfs(2)); False if unavailable."""
    if _libc_syncfs is None:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc_syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno), str(path))
    finally:
        os.close(fd)
    return True
