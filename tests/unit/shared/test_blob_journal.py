import hashlib
import os
import subprocess
import sys
import textwrap

import pytest

from switchboard_shared import blobstore
from switchboard_shared.blob_journal import BlobJournal, records, replay_abandoned
from switchboard_shared.group_commit import GroupCommitBlobStore
from tests.support.waiting import wait_for


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _journaled(tmp_path, blobs: list[bytes], size: int = 1 << 16) -> BlobJournal:
    journal = BlobJournal.create(tmp_path / "journal", size)
    for data in blobs:
        assert journal.append(_sha(data), data)
    return journal


def test_records_come_back_in_order(tmp_path):
    blobs = [b"first", b"", b"third" * 100]
    journal = _journaled(tmp_path, blobs)
    journal.sync()
    assert list(records(journal.path.read_bytes())) == [(_sha(b), b) for b in blobs]
    assert journal.path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("damage", ["flipped byte", "cut short"])
def test_a_torn_record_ends_the_replay(tmp_path, damage):
    journal = _journaled(tmp_path, [b"kept", b"torn by a crash"])
    content = bytearray(journal.path.read_bytes())
    last = content.index(b"torn by a crash")
    if damage == "flipped byte":
        content[last] ^= 0xFF
    else:
        content[last + 4 :] = bytes(len(content) - last - 4)
    assert list(records(bytes(content))) == [(_sha(b"kept"), b"kept")]


def test_after_a_restart_older_records_are_not_replayed(tmp_path):
    journal = _journaled(tmp_path, [b"checkpointed long ago", b"also old"])
    journal.restart()
    assert journal.append(_sha(b"new"), b"new")
    assert list(records(journal.path.read_bytes())) == [(_sha(b"new"), b"new")]


def test_a_full_journal_refuses_the_record(tmp_path):
    journal = BlobJournal.create(tmp_path, size=4096 + 100)
    assert journal.append(_sha(b"x" * 40), b"x" * 40)
    assert not journal.append(_sha(b"y" * 40), b"y" * 40)


def _blob_path(root, data: bytes):
    digest = _sha(data)
    return root / digest[:2] / digest[2:4] / digest


def _run_writer(root, blobs: list[bytes], exit_call: str) -> None:
    """In another process, store `blobs` durably, then exit with `exit_call`."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from switchboard_shared.group_commit import GroupCommitBlobStore
        store = GroupCommitBlobStore(sys.argv[1], fsync=True)
        for data in {blobs!r}:
            store.start_put(data).result(timeout=10)
        {exit_call}
        """
    )
    subprocess.run([sys.executable, "-c", script, str(root)], check=True, timeout=60)


def test_a_dead_writers_journal_restores_blobs_the_crash_lost(tmp_path):
    blobs = [b"acknowledged webhook 1", b"acknowledged webhook 2"]
    # SIGKILL, power loss: no clean exit, the journal stays.
    _run_writer(tmp_path, blobs, "os._exit(0)")
    (dead,) = (tmp_path / ".journal").glob("*.journal")
    for data in blobs:  # what a power loss does to blob files written but not synced
        _blob_path(tmp_path, data).write_bytes(b"")
    _blob_path(tmp_path, blobs[1]).unlink()

    # The next process to write replays it in the background as it starts.
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    live = store.start_put(b"a live writer's blob")
    live.result(timeout=10)
    wait_for(lambda: not dead.exists(), timeout=10, message="the dead journal to be replayed")

    assert [store.get(_sha(b)) for b in blobs] == blobs
    # The live process's journal is its own: left alone, and its blob intact.
    assert len(list((tmp_path / ".journal").glob("*.journal"))) == 1
    assert store.replay_abandoned() == []
    assert store.get(live.sha256) == b"a live writer's blob"


def test_a_clean_exit_leaves_no_journal_behind(tmp_path):
    _run_writer(tmp_path, [b"one", b"two"], "sys.exit(0)")
    assert list((tmp_path / ".journal").iterdir()) == []
    assert blobstore.FilesystemBlobStore(tmp_path).get(_sha(b"two")) == b"two"


def test_replaying_nothing_syncs_nothing(tmp_path):
    synced = []
    assert replay_abandoned(tmp_path, lambda d, b: None, synced.append) == []
    assert synced == []


def test_a_full_journal_is_checkpointed_and_started_over(tmp_path, monkeypatch):
    checkpoints = []
    real_syncfs = blobstore._syncfs
    monkeypatch.setattr(
        blobstore, "_syncfs", lambda path: checkpoints.append(path) or real_syncfs(path)
    )
    store = GroupCommitBlobStore(tmp_path, fsync=True, journal_size=4096 + 300)
    blobs = [f"webhook body {i:03d} ".encode() * 5 for i in range(12)]
    for data in blobs:
        store.start_put(data).result(timeout=10)
    # 300 bytes hold two records of 48 + 95 bytes: every third put found the journal full.
    assert len(checkpoints) == 4
    assert [store.get(_sha(b)) for b in blobs] == blobs
    (journal,) = (tmp_path / ".journal").glob("*.journal")
    assert [d for d, _ in records(journal.read_bytes())] == []


def test_replay_stores_and_syncs_before_it_deletes(tmp_path):
    journal = _journaled(tmp_path, [b"one", b"two"])
    journal.sync()
    os.close(journal._fd)  # its process died: the lock goes with it
    stored, synced = [], []

    def sync(digests):
        assert journal.path.exists()  # not deleted before the blobs are durable
        synced.append(list(digests))

    replayed = replay_abandoned(tmp_path / "journal", lambda d, b: stored.append(b), sync)
    assert stored == [b"one", b"two"]
    assert synced == [replayed] == [[_sha(b"one"), _sha(b"two")]]
    assert not journal.path.exists()
