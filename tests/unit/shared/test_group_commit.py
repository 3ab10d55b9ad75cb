import hashlib
import threading

import pytest

from switchboard_shared import blob_journal, blobstore
from switchboard_shared.group_commit import GroupCommitBlobStore


def _files(root):
    """The blob files, leaving out the processes' journals."""
    return [p for p in root.rglob("*") if p.is_file() and ".journal" not in p.parts]


class _JournalSyncs(list):
    """The journals synced, in order; `before` runs first (to hold or fail a sync)."""

    def before(self) -> None:
        pass


@pytest.fixture
def journal_syncs(monkeypatch):
    syncs = _JournalSyncs()
    real = blob_journal.BlobJournal.sync

    def counting_sync(journal):
        syncs.append(journal.path)
        syncs.before()
        real(journal)

    monkeypatch.setattr(blob_journal.BlobJournal, "sync", counting_sync)
    return syncs


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "os"])
def test_start_put_stores_the_blob_durably_and_leaves_no_temp_files(tmp_path, monkeypatch, libc):
    if not libc:  # where there is no C library to call, `os` does the same
        monkeypatch.setattr(blobstore, "_libc", None)
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    pending = store.start_put(b"raw webhook body")
    digest = hashlib.sha256(b"raw webhook body").hexdigest()
    assert pending.sha256 == digest
    assert pending.result(timeout=10) == digest
    assert store.get(digest) == b"raw webhook body"
    assert [p.name for p in _files(tmp_path)] == [digest]
    assert (tmp_path / digest[:2] / digest[2:4] / digest).stat().st_mode & 0o777 == 0o644


def test_concurrent_writers_share_syncs(tmp_path, journal_syncs):
    # The committer is held in its first sync while 20 more blobs arrive: they must all
    # be made durable together, by one more sync of the journal.
    first_sync_started = threading.Event()
    release = threading.Event()

    def hold():
        first_sync_started.set()
        assert release.wait(10)

    journal_syncs.before = hold
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    first = store.start_put(b"first")
    assert first_sync_started.wait(10)
    pending = [store.start_put(f"blob {i}".encode()) for i in range(20)]
    release.set()
    assert first.result(timeout=10)
    for p, i in zip(pending, range(20), strict=True):
        assert store.get(p.result(timeout=10)) == f"blob {i}".encode()
    assert len(journal_syncs) == 2
    assert not [p for p in _files(tmp_path) if p.name.startswith(".tmp-")]


def test_a_failed_sync_answers_oserror_and_a_checkpoint_vouches_for_the_retry(
    tmp_path, monkeypatch, journal_syncs
):
    def failing():
        raise OSError(5, "Input/output error")

    journal_syncs.before = failing
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    pending = store.start_put(b"not durable")
    with pytest.raises(OSError, match="Input/output error"):
        pending.result(timeout=10)
    # After a failed fdatasync the journal's pages may be gone: the redelivery is made
    # durable by a filesystem sync instead, and the journal starts over.
    journal_syncs.before = lambda: None
    checkpoints = []
    monkeypatch.setattr(blobstore, "_syncfs", lambda path: checkpoints.append(path) or True)
    assert store.start_put(b"not durable").result(timeout=10) == pending.sha256
    assert len(checkpoints) == 1
    assert store.get(pending.sha256) == b"not durable"
    assert store.start_put(b"journaled again").result(timeout=10)
    assert len(checkpoints) == 1
    assert len(journal_syncs) == 2


@pytest.mark.parametrize("torn", [b"", b"not ", bytes(11)], ids=["empty", "short", "zeroed"])
def test_a_blob_torn_by_a_crash_is_rewritten_by_the_redelivery(tmp_path, torn):
    # The blob is written at its name before its sync: a crash can leave torn bytes
    # there, and the network, never answered, sends the same body again.
    digest = hashlib.sha256(b"raw webhook").hexdigest()
    path = tmp_path / digest[:2] / digest[2:4] / digest
    path.parent.mkdir(parents=True)
    path.write_bytes(torn)
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    assert store.start_put(b"raw webhook").result(timeout=10) == digest
    assert store.get(digest) == b"raw webhook"
    assert [p.name for p in _files(tmp_path)] == [digest]


def test_the_same_bytes_in_flight_twice_are_written_once(tmp_path):
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
    assert len(set(results)) == 1
    assert [p.name for p in _files(tmp_path)] == results[:1]


def test_without_fsync_start_put_stores_at_once(tmp_path):
    store = GroupCommitBlobStore(tmp_path, fsync=False)
    pending = store.start_put(b"quick")
    assert store.exists(pending.sha256)
    assert pending.result(timeout=0) == pending.sha256


def test_a_write_that_fails_is_reported_by_result(tmp_path, monkeypatch):
    def full_disk(path, data):
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(blobstore, "_write_new", full_disk)
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    pending = store.start_put(b"cannot be written")
    with pytest.raises(OSError, match="No space left"):
        pending.result(timeout=10)
    assert _files(tmp_path) == []
