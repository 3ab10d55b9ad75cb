import hashlib
import threading

import pytest

from switchboard_shared.blob_pack import records
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
    # The new blobs are packed, once each; the one stored before keeps its file.
    files = [p for p in tmp_path.rglob("*") if p.is_file() and ".packs" not in p.parts]
    assert [p.name for p in files] == [already]
    (pack,) = (tmp_path / ".packs").glob("*.pack")
    content = pack.read_bytes()
    packed = [content[at : at + n] for _, at, n in records(content)]
    assert packed == [b"one", b"two"]


def test_write_many_gives_a_big_blob_a_file_of_its_own(tmp_path):
    store = FilesystemBlobStore(tmp_path, fsync=True, pack_size=4096 + 4000)
    big, small = b"x" * 3000, b"small"
    digests = store.put_many([big, small])
    files = [p.name for p in tmp_path.rglob("*") if p.is_file() and ".packs" not in p.parts]
    assert files == digests[:1]
    assert [store.get(d) for d in digests] == [big, small]


def test_write_many_rolls_over_to_new_packs_and_seals_the_full_ones(tmp_path):
    store = FilesystemBlobStore(tmp_path, fsync=True, pack_size=4096 + 300)
    blobs = [f"mail {i:03d} ".encode() * 10 for i in range(7)]  # 40 + 90 bytes a record
    digests = store.write_many(blobs)
    # Two records a pack: three full packs sealed (cut and indexed), the fourth in use.
    assert len(list((tmp_path / ".packs").glob("*.idx"))) == 3
    assert len(list((tmp_path / ".packs").glob("*.pack"))) == 4
    assert [FilesystemBlobStore(tmp_path).get(d) for d in digests] == blobs


def test_put_many_fails_the_batch_when_the_sync_fails_and_leaves_no_temp_files(
    tmp_path, monkeypatch
):
    # The caller must not acknowledge a batch whose sync failed; names it already wrote
    # may stay, since the next put checks their bytes before trusting them.
    from switchboard_shared import blobstore

    def failing_sync(path):
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr(blobstore, "_syncfs", failing_sync)
    store = FilesystemBlobStore(tmp_path, fsync=True)
    with pytest.raises(OSError, match="Input/output error"):
        store.put_many([b"a", b"b"])
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def counting_syncs(store: FilesystemBlobStore) -> list[int]:
    """Wrap the store's filesystem sync; the returned list grows by one per sync."""
    calls: list[int] = []
    real_sync = store._sync

    def sync():
        calls.append(1)
        real_sync()

    store._sync = sync
    return calls


def blob_path(root, data: bytes):
    digest = hashlib.sha256(data).hexdigest()
    return root / digest[:2] / digest[2:4] / digest


TORN = {
    "empty": lambda data: b"",
    "short": lambda data: data[: len(data) // 2],
    "zeroed, same size": lambda data: bytes(len(data)),
}


@pytest.mark.parametrize("tear", TORN.values(), ids=TORN.keys())
@pytest.mark.parametrize("how", ["put_many", "put"])
def test_a_torn_blob_is_rewritten(tmp_path, tear, how):
    # A crash between put_many's rename and its sync can leave a name over torn bytes;
    # the source re-sends the mail, and the put must repair the blob, not trust its name.
    data = b"a raw mail, " * 1000
    store = FilesystemBlobStore(tmp_path, fsync=True)
    path = blob_path(tmp_path, data)
    path.parent.mkdir(parents=True)
    path.write_bytes(tear(data))
    if how == "put_many":
        [digest] = store.put_many([data])
    else:
        digest = store.put(data)
    assert store.get(digest) == data
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_put_many_syncs_once_per_batch_even_when_every_blob_is_intact(tmp_path):
    store = FilesystemBlobStore(tmp_path, fsync=True)
    syncs = counting_syncs(store)
    batch = [b"mail %d" % i for i in range(50)] + [b"logo"] * 3
    store.put_many(batch)
    assert len(syncs) == 1
    # A re-fetch after a failed sync: every blob is there intact, but maybe not on disk.
    store.put_many(batch)
    assert len(syncs) == 2
    # A file of its own torn by a crash before the sync: it is read before any pack.
    torn = blob_path(tmp_path, b"mail 7")
    torn.parent.mkdir(parents=True, exist_ok=True)
    torn.write_bytes(b"")
    store.put_many(batch)
    assert len(syncs) == 3
    assert store.get(hashlib.sha256(b"mail 7").hexdigest()) == b"mail 7"
    assert store.put_many([]) == []
    assert len(syncs) == 3


@pytest.mark.parametrize("how", ["put_many", "put"])
def test_an_intact_blob_is_not_rewritten(tmp_path, how):
    data = b"the logo every mail carries"
    store = FilesystemBlobStore(tmp_path, fsync=True)
    store.put(data)
    before = blob_path(tmp_path, data).stat()
    if how == "put_many":
        store.put_many([data, data])
    else:
        store.put(data)
    after = blob_path(tmp_path, data).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_put_many_without_syncfs_falls_back_to_sync(tmp_path, monkeypatch):
    from switchboard_shared import blobstore

    synced = []
    monkeypatch.setattr(blobstore, "_syncfs", lambda path: False)
    monkeypatch.setattr(blobstore.os, "sync", lambda: synced.append(1))
    store = FilesystemBlobStore(tmp_path, fsync=True)
    digests = store.put_many([b"a", b"b"])
    assert [store.get(d) for d in digests] == [b"a", b"b"]
    assert synced == [1]  # once, after the writes


def test_put_many_blobs_are_readable_by_every_service_whatever_the_umask(tmp_path):
    import os

    store = FilesystemBlobStore(tmp_path, fsync=True)
    old = os.umask(0o077)
    try:
        store.put_many([b"for the inbox to read"])
        [big] = store.put_many([b"x" * (store._packs.size // 4 + 1)])
    finally:
        os.umask(old)
    assert (tmp_path / big[:2] / big[2:4] / big).stat().st_mode & 0o777 == 0o644
    (pack,) = (tmp_path / ".packs").glob("*.pack")
    assert pack.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / ".packs").stat().st_mode & 0o005 == 0o005
