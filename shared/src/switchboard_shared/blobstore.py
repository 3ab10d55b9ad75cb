"""Content-addressed storage for raw payloads and attachments.

Blobs are named by the sha256 of their bytes, so storing the same payload again writes
nothing, and a name says exactly which bytes it must hold: a put checks them and rewrites a
blob a crash left torn. `FilesystemBlobStore` keeps them on a volume shared by the services;
another backend (S3, say) implements the `BlobStore` protocol.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    """No blob is stored under that sha256."""


class BlobStore(Protocol):
    """What every blob backend offers."""

    def put(self, data: bytes) -> str:
        """Store `data` durably and return its sha256 (hex)."""

    def put_many(self, blobs: Iterable[bytes]) -> list[str]:
        """Store every blob durably (cheaper than one put each); return their sha256s."""

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
    """Blobs as files `ab/cd/abcd...` under a root directory, written atomically."""

    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes) -> str:
        """Store `data` (temp file, fsync, rename) unless stored intact; return its sha256."""
        digest = sha256_hex(data)
        target = self._path(digest)
        if _holds(target, digest, len(data)):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            # rename is atomic: readers see the whole blob or none; concurrent writers of
            # the same bytes race harmlessly since both write identical content.
            os.replace(tmp, target)
            if self.fsync:
                _fsync_dir(target.parent)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def put_many(self, blobs: Iterable[bytes]) -> list[str]:
        """Store every blob with one filesystem sync in all; return their sha256s.

        Each new (or torn) blob is written to a temp file and renamed to its name at once;
        one sync then makes every content and name durable before the caller acknowledges
        anything. A crash before that sync may leave names over torn bytes: the caller has
        acknowledged nothing, puts the same blobs again, and `_holds` has them rewritten.
        """
        digests: list[str] = []
        seen: set[str] = set()
        written: list[Path] = []
        token = secrets.token_hex(6)  # concurrent writers of the same blob use other names
        for data in blobs:
            digest = sha256_hex(data)
            digests.append(digest)
            if digest in seen:
                continue
            seen.add(digest)
            target = self._path(digest)
            if _holds(target, digest, len(data)):
                continue
            tmp = str(target.parent / f".tmp-{digest[:16]}-{token}")
            try:
                _write_new(tmp, data)
            except FileNotFoundError:  # the blob's directory does not exist yet
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_new(tmp, data)
            try:
                # Atomic: a reader sees the old file or the new one, never a mix.
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append(target)
        if written and self.fsync:
            # Without syncfs: each blob's file, then each directory that gained a name.
            self._sync([*written, *dict.fromkeys(target.parent for target in written)])
        return digests

    def _sync(self, paths: Iterable[str | Path]) -> None:
        """Make the given files (or directories) durable: one syncfs, else one fsync each."""
        if _syncfs(self.root):
            return
        for path in paths:
            _fsync_path(path)

    def get(self, sha256: str) -> bytes:
        """Return the stored bytes."""
        with self.open(sha256) as fh:
            return fh.read()

    def exists(self, sha256: str) -> bool:
        """Say whether the blob is stored."""
        return _SHA256.match(sha256 or "") is not None and self._path(sha256).exists()

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for reading."""
        if not _SHA256.match(sha256 or ""):
            raise BlobNotFound(sha256)
        try:
            return self._path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest


def _holds(path: Path, digest: str, size: int) -> bool:
    """Say whether the file at `path` holds exactly the `size` bytes named `digest`."""
    # A name proves nothing on its own: put_many renames blobs before the sync that makes
    # their bytes durable, so a crash can leave a name over empty, short or zeroed bytes.
    # The size catches most tears for an fstat; the hash the rest (a re-put blob is usually
    # still in the page cache, and re-puts are rare apart from small repeated attachments).
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size != size:
                return False
            # One read, not file_digest: its 256 KiB buffer costs more than a small blob.
            return sha256_hex(fh.read()) == digest
    except FileNotFoundError:
        return False


def _write_new(path: str, data: bytes) -> None:
    """Write `data` to a file that must not exist yet, readable by every service (0644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.fchmod(fd, 0o644)  # whatever the umask: the other services read it
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        Path(path).unlink(missing_ok=True)
        raise
    os.close(fd)


def _fsync_dir(path: Path) -> None:
    _fsync_path(path)


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
