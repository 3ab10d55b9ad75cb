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
