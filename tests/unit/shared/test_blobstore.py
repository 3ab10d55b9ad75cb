import hashlib
import threading

import pytest

from switchboard_shared.blobstore import BlobNotFound, FilesystemBlobStore


def test_stores_by_content_and_reads_back(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    digest = store.put(b"raw payload")
    assert digest == hashlib.sha256(b"raw payload").hexdigest()
    assert store.get(digest) == b"raw payload"
    assert store.exists(digest)
    assert (tmp_path / digest[:2] / digest[2:4] / digest).is_file()


def test_the_same_bytes_are_stored_once(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    assert store.put(b"x") == store.put(b"x")
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_leaves_no_temp_files_and_survives_concurrent_writers(tmp_path):
    store = FilesystemBlobStore(tmp_path, fsync=True)
    data = [bytes([i]) * 10_000 for i in range(20)]
    threads = [threading.Thread(target=store.put, args=(d,)) for d in data * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 20
    assert not [p for p in files if p.name.startswith(".tmp-")]
    for d in data:
        assert store.get(hashlib.sha256(d).hexdigest()) == d


def test_missing_and_malformed_names(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(BlobNotFound):
        store.get("0" * 64)
    with pytest.raises(BlobNotFound):
        store.get("../../etc/passwd")
    assert not store.exists("../../etc/passwd")


def test_put_many_stores_a_batch_with_its_repeats_once(tmp_path):
    store = FilesystemBlobStore(tmp_path, fsync=True)
    already = store.put(b"stored before")
    batch = [b"one", b"two", b"one", b"stored before"]
    digests = store.put_many(batch)
    assert digests == [hashlib.sha256(d).hexdigest() for d in batch]
    assert digests[3] == already
    for digest, data in zip(digests, batch, strict=True):
        assert store.get(digest) == data
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 3
    assert not [p for p in files if p.name.startswith(".tmp-")]


def test_put_many_names_nothing_before_every_blob_is_synced(tmp_path, monkeypatch):
    # A name must never point at bytes that are not on disk: the first sync (of the
    # contents) fails here, so no blob of the batch may exist and no temp file remains.
    from switchboard_shared import blobstore

    def failing_sync(path):
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr(blobstore, "_syncfs", failing_sync)
    store = FilesystemBlobStore(tmp_path, fsync=True)
    with pytest.raises(OSError, match="Input/output error"):
        store.put_many([b"a", b"b"])
    assert not store.exists(hashlib.sha256(b"a").hexdigest())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_put_many_without_syncfs_falls_back_to_fsyncs(tmp_path, monkeypatch):
    from switchboard_shared import blobstore

    synced = []
    monkeypatch.setattr(blobstore, "_syncfs", lambda path: False)
    monkeypatch.setattr(blobstore, "_fsync_path", synced.append)
    store = FilesystemBlobStore(tmp_path, fsync=True)
    digests = store.put_many([b"a", b"b"])
    assert [store.get(d) for d in digests] == [b"a", b"b"]
    # Each temp file before the renames, then each blob's directory after them.
    assert len(synced) == 4


def test_put_many_blobs_are_readable_by_every_service_whatever_the_umask(tmp_path):
    import os

    store = FilesystemBlobStore(tmp_path, fsync=True)
    old = os.umask(0o077)
    try:
        [digest] = store.put_many([b"for the inbox to read"])
    finally:
        os.umask(old)
    assert (tmp_path / digest[:2] / digest[2:4] / digest).stat().st_mode & 0o777 == 0o644
