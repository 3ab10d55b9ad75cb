import hashlib
import os
import subprocess
import sys
import textwrap

import pytest

from switchboard_shared.blob_pack import PackReader, PackWriter, records, seal_abandoned
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.group_commit import GroupCommitBlobStore
from tests.support.waiting import wait_for


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _packed(directory, blobs: list[bytes], size: int = 1 << 16) -> PackWriter:
    pack = PackWriter.create(directory, size)
    for data in blobs:
        assert pack.append(_sha(data), data)
    return pack


def _records(pack: PackWriter) -> list[bytes]:
    content = pack.path.read_bytes()
    return [content[offset : offset + length] for _, offset, length in records(content)]


def test_records_come_back_in_order_and_packs_are_readable_by_all(tmp_path):
    blobs = [b"first", b"", b"third" * 100]
    pack = _packed(tmp_path, blobs)
    pack.sync()
    assert _records(pack) == blobs
    assert pack.path.stat().st_mode & 0o777 == 0o644
    assert pack.path.stat().st_size == 1 << 16  # written full of zeros when created


@pytest.mark.parametrize("damage", ["flipped byte", "cut short"])
def test_a_torn_record_ends_the_records(tmp_path, damage):
    pack = _packed(tmp_path, [b"kept", b"torn by a crash", b"never acknowledged"])
    content = bytearray(pack.path.read_bytes())
    torn = content.index(b"torn by a crash")
    if damage == "flipped byte":
        content[torn] ^= 0xFF
    else:
        content[torn + 4 :] = bytes(len(content) - torn - 4)
    pack.path.write_bytes(bytes(content))
    assert _records(pack) == [b"kept"]


def test_a_full_pack_refuses_the_record(tmp_path):
    pack = PackWriter.create(tmp_path, size=4096 + 100)
    assert pack.append(_sha(b"x" * 40), b"x" * 40)
    assert not pack.append(_sha(b"y" * 40), b"y" * 40)


def test_a_sealed_pack_is_cut_to_its_records_and_found_through_its_index(tmp_path):
    blobs = [f"webhook {i}".encode() for i in range(50)]
    pack = _packed(tmp_path, blobs)
    pack.sync()
    pack.seal()
    assert pack.path.stat().st_size < 1 << 16
    assert pack.path.with_suffix(".idx").exists()
    reader = PackReader(tmp_path)
    assert [reader.get(_sha(b)) for b in blobs] == blobs
    assert reader.get(_sha(b"never stored")) is None
    assert reader.get("0" * 64) is None and reader.get("f" * 64) is None


def test_an_empty_pack_is_deleted_when_sealed(tmp_path):
    pack = PackWriter.create(tmp_path)
    pack.seal()
    assert list(tmp_path.iterdir()) == []


def test_a_pack_being_filled_is_read_as_it_grows(tmp_path):
    pack = _packed(tmp_path, [b"one"])
    reader = PackReader(tmp_path)
    assert reader.get(_sha(b"one")) == b"one"
    assert reader.get(_sha(b"two")) is None
    assert pack.append(_sha(b"two"), b"two")
    assert reader.get(_sha(b"two")) == b"two"
    pack.seal()
    assert reader.get(_sha(b"two")) == b"two"  # now through the index


def test_bytes_that_do_not_match_their_name_are_not_returned(tmp_path):
    pack = _packed(tmp_path, [b"original bytes"])
    pack.seal()
    content = bytearray(pack.path.read_bytes())
    content[content.index(b"original")] ^= 0xFF  # the disk returned other bytes
    pack.path.write_bytes(bytes(content))
    assert PackReader(tmp_path).get(_sha(b"original bytes")) is None


def test_a_torn_index_falls_back_to_reading_the_pack(tmp_path):
    pack = _packed(tmp_path, [b"one", b"two"])
    pack.seal()
    index = pack.path.with_suffix(".idx")
    index.write_bytes(index.read_bytes()[:-1])
    assert PackReader(tmp_path).get(_sha(b"two")) == b"two"


def test_seal_abandoned_seals_dead_writers_packs_and_leaves_live_ones(tmp_path):
    dead = _packed(tmp_path, [b"one", b"two"])
    dead.sync()
    content = bytearray(dead.path.read_bytes())
    tail = content.index(b"two") + 3
    # A record being written when the writer died: torn, so neither it nor any after it
    # was acknowledged.
    content[tail : tail + 8] = b"SBP1\xff\xff\x00\x00"
    dead.path.write_bytes(bytes(content))
    dead.close()  # its process died: the lock goes with it
    empty = PackWriter.create(tmp_path)
    empty.close()
    live = _packed(tmp_path, [b"live"])

    assert seal_abandoned(tmp_path) == 2
    assert dead.path.with_suffix(".idx").exists()
    assert not empty.path.exists()
    assert not live.path.with_suffix(".idx").exists()
    assert _records(dead) == [b"one", b"two"]
    reader = PackReader(tmp_path)
    assert [reader.get(_sha(b)) for b in (b"one", b"two", b"live")] == [b"one", b"two", b"live"]
    assert seal_abandoned(tmp_path) == 0


def test_a_pack_with_a_lost_header_is_left_alone(tmp_path, caplog):
    pack = _packed(tmp_path, [b"one"])
    pack.close()
    content = bytearray(pack.path.read_bytes())
    content[:4] = b"\0\0\0\0"
    pack.path.write_bytes(bytes(content))
    assert seal_abandoned(tmp_path) == 0
    assert pack.path.exists()
    assert "no valid header" in caplog.text


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


def test_a_dead_writers_pack_is_sealed_by_the_next_writer(tmp_path):
    blobs = [b"acknowledged webhook 1", b"acknowledged webhook 2"]
    # SIGKILL, power loss: no clean exit, the pack stays unsealed.
    _run_writer(tmp_path, blobs, "os._exit(0)")
    (dead,) = (tmp_path / ".packs").glob("*.pack")
    assert not dead.with_suffix(".idx").exists()
    assert [FilesystemBlobStore(tmp_path).get(_sha(b)) for b in blobs] == blobs

    # The next process to write seals it in the background as it starts.
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    live = store.start_put(b"a live writer's blob")
    live.result(timeout=10)
    wait_for(lambda: dead.with_suffix(".idx").exists(), timeout=10, message="the dead pack sealed")
    assert [store.get(_sha(b)) for b in blobs] == blobs
    assert seal_abandoned(store.pack_dir) == 0  # its own pack is left alone
    assert store.get(live.sha256) == b"a live writer's blob"


def test_a_clean_exit_seals_the_pack(tmp_path):
    _run_writer(tmp_path, [b"one", b"two"], "sys.exit(0)")
    packs = sorted(p.suffix for p in (tmp_path / ".packs").iterdir())
    assert packs == [".idx", ".pack"]
    assert FilesystemBlobStore(tmp_path).get(_sha(b"two")) == b"two"


def test_a_forked_child_writes_a_pack_of_its_own(tmp_path):
    store = GroupCommitBlobStore(tmp_path, fsync=True)
    store.start_put(b"parent's").result(timeout=10)
    pid = os.fork()
    if pid == 0:  # the child: exit without running the parent's cleanup or pytest's
        try:
            store.start_put(b"child's").result(timeout=10)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(list((tmp_path / ".packs").glob("*.pack"))) == 2
    # The child's copy of the parent's pack is closed: the parent's lock is its own.
    assert seal_abandoned(tmp_path / ".packs") == 1  # the child's, which died unsealed
    assert store.get(_sha(b"child's")) == b"child's"
    assert store.get(_sha(b"parent's")) == b"parent's"


def test_packs_roll_over_and_every_full_one_is_sealed(tmp_path):
    store = GroupCommitBlobStore(tmp_path, fsync=True, pack_size=4096 + 300)
    blobs = [f"webhook body {i:03d} ".encode() * 5 for i in range(12)]
    for data in blobs:
        store.start_put(data).result(timeout=10)
    # 300 bytes hold two records of 40 + 95 bytes: six packs, five of them full.
    wait_for(
        lambda: len(list(store.pack_dir.glob("*.idx"))) == 5,
        timeout=10,
        message="the full packs sealed",
    )
    assert [FilesystemBlobStore(tmp_path).get(_sha(b)) for b in blobs] == blobs
