"""Content-addressed storage for raw payloads and attachments.

Blobs are named by the sha256 of their bytes, so storing the same payload twice is free and
a blob can never be changed under its name. `FilesystemBlobStore` keeps them on a volume
shared by the services; another backend (S3, say) implements the `BlobStore` protocol.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    """No blob is stored under that sha256."""


class BlobStore(Protocol):
    """What every blob backend offers."""

    def put(self, data: bytes) -> str:
        """Store `data` durably and return its sha256 (hex)."""

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
        """Store `data` (temp file, fsync, rename) unless already stored; return its sha256."""
        digest = sha256_hex(data)
        target = self._path(digest)
        if target.exists():
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
