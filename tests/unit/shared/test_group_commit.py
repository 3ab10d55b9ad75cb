import hashlib
import threading

import pytest

from switchboard_shared import blob_pack, blobstore
from switchboard_shared.group_commit import GroupCommitBlobStore
from tests.support.waiting import wait_for


def _files(root):
    """The blob files, leaving out the processes' packs."""
    return [p for p in root.rglob("*") if p.is_file() and ".packs" not in p.parts]


class _PackSyncs(list):
    """The packs synced, in order; `before` runs first (to hold or fail a sync)."""

    def before(self) -> None:
        pass


@pytest.fixture
def pack_syncs(monkeypatch):
    syncs = _PackSyncs()
    real = blob_pack.PackWriter.sync

    def counting_sync(pack):
        syncs.append(pack.path)
        syncs.before()
        real(pack)

    monkeypatch.setattr(blob_pack.PackWriter, "sync", counting_sync)
    return syncs


def _packed(store) -> list[bytes]:
    """The blobs recorded in the store's packs, in order."""
    found = []
    for pack in sorted(store.pack_dir.glob("*.pack")):
        content = pack.read_bytes()
        found += [content[at : at + n] for _, at, n in blob_pack.records(content)]
    return found


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "os"])
def test_start_put_packs_the_blob_durably(tmp_path, monkeypatch, libc, pack_syncs):
    if not libc:  # where there is no C library to call, `os` does the same
        monkeypatch.setattr(blob_pack, "_pwrite", None)
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    pending = store.start_put(b"raw webhook body")
    digest = hashlib.sha256(b"raw webhook body").hexdigest()
    assert pending.sha256 == digest
    assert pending.result(timeout=10) == digest
    assert len(pack_syncs) == 1
    assert blobstore.FilesystemBlobStore(tmp_path).get(digest) == b"raw webhook body"
    assert _packed(store) == [b"raw webhook body"]
    assert _files(tmp_path) == []  # no file of its own


def test_concurrent_writers_share_syncs(tmp_path, pack_syncs):
    # The committer is held in its first sync while 20 more blobs arrive: they must all
    # be made durable together, by one more sync of the pack.
    first_sync_started = threading.Event()
    release = threading.Event()

    def hold():
        first_sync_started.set()
        assert release.wait(10)

    pack_syncs.before = hold
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    first = store.start_put(b"first")
    assert first_sync_started.wait(10)
    pending = [store.start_put(f"blob {i}".encode()) for i in range(20)]
    assert not any(p._round.done.is_set() for p in pending)
    release.set()
    assert first.result(timeout=10)
    for p, i in zip(pending, range(20), strict=True):
        assert store.get(p.result(timeout=10)) == f"blob {i}".encode()
    assert len(pack_syncs) == 2


def test_after_a_failed_sync_the_retry_goes_to_a_new_pack(tmp_path, pack_syncs):
    def failing():
        raise OSError(5, "Input/output error")

    pack_syncs.before = failing
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    pending = store.start_put(b"not durable")
    with pytest.raises(OSError, match="Input/output error"):
        pending.result(timeout=10)
    # After a failed fdatasync the pack's pages may be gone, and no later sync of it
    # vouches for them: the redelivery is packed anew, in another pack.
    pack_syncs.before = lambda: None
    assert store.start_put(b"not durable").result(timeout=10) == pending.sha256
    assert store.start_put(b"packed again").result(timeout=10)
    failed, retried = pack_syncs[0], pack_syncs[-1]
    assert failed != retried
    assert store.get(pending.sha256) == b"not durable"
    wait_for(
        lambda: failed.with_suffix(".idx").exists(), timeout=10, message="the failed pack sealed"
    )


def test_a_blob_too_big_for_a_pack_gets_a_file_of_its_own(tmp_path):
    store = GroupCommitBlobStore(tmp_path, fsync=True, pack_size=4096 + 4000)
    big = b"x" * 3000  # over a quarter of the pack
    digest = store.start_put(big).result(timeout=10)
    assert [p.name for p in _files(tmp_path)] == [digest]
    assert _packed(store) == []
    assert store.get(digest) == big


def test_the_same_bytes_in_flight_twice_are_packed_once(tmp_path):
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(store.start_put(b"same").result(10)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert _packed(store) == [b"same"]


def test_without_fsync_start_put_stores_at_once(tmp_path, pack_syncs):
    store = GroupCommitBlobStore(tmp_path, fsync=False)
    pending = store.start_put(b"quick")
    assert pending.result(timeout=0) == pending.sha256
    assert store.exists(pending.sha256)
    assert pack_syncs == []


def test_a_write_that_fails_is_reported_by_result(tmp_path, monkeypatch):
    def full_disk(fd, data, offset):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(blob_pack, "_write_at", full_disk)
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    pending = store.start_put(b"cannot be written")
    with pytest.raises(OSError, match="No space left"):
        pending.result(timeout=10)
    assert not store.exists(pending.sha256)
