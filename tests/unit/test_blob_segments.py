"""Small blobs packed into segment files (drivers/objects/segments.py, via FsBlobStore.put):
block-aligned, durable, readable in place; deleted blobs stay readable to open readers for the
grace period and then leave a hole; writers in threads and processes never overlap; a crash
leaves only what the start-up sweep removes."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from eucalyptus.drivers.objects import segments
from eucalyptus.drivers.objects.base import BlobNotFound, blob_start
from eucalyptus.drivers.objects.fs import FsBlobStore


@pytest.fixture()
def store(tmp_path):
    made = FsBlobStore(tmp_path / "walrus")
    yield made
    made.close()


def _allocated(store) -> int:
    return sum(p.stat().st_blocks * 512 for p in store.segments.dir.iterdir())


def test_small_blobs_share_a_segment_block_aligned(store):
    ids = [store.put(bytes([n]) * (1000 + n)) for n in range(5)]
    assert all(segments.is_segment_id(blob) for blob in ids)
    assert len({blob.split("-")[0] for blob in ids}) == 1          # one segment
    offsets = [store.segments.locate(blob)[1] for blob in ids]
    assert offsets == [n * segments.BLOCK for n in range(5)]
    assert [p for p in (store.root / "blobs").rglob("*") if p.is_file()] == []
    for n, blob in enumerate(ids):
        with store.open(blob) as handle:
            assert handle.read() == bytes([n]) * (1000 + n)
            assert blob_start(handle) == offsets[n]
    big = store.put(b"z" * (segments.SEGMENT_MAX + 1))
    assert not segments.is_segment_id(big)                          # a file of its own


def test_a_deleted_blob_stays_readable_for_its_grace_then_is_punched(store):
    keep = store.put(b"k" * 5000)
    gone = store.put(b"g" * 9000)
    reader = store.open(gone)
    before = _allocated(store)
    store.delete(gone)
    store.delete(gone)                                 # idempotent
    with pytest.raises(BlobNotFound):                  # not found any more by new readers
        store.open(gone)
    assert reader.read(4) == b"gggg"                   # but one already reading goes on
    assert _allocated(store) == before                 # within the grace period
    assert store.segments.reap(everything=True) == 1
    assert _allocated(store) == before - segments.span(9000)
    assert reader.read() == bytes(8996)                # the punched hole reads as zeros
    reader.close()
    other = FsBlobStore(store.root)                    # another process' view
    with pytest.raises(BlobNotFound):
        other.open(gone)
    with other.open(keep) as handle:
        assert handle.read() == b"k" * 5000


def test_a_zero_grace_punches_at_once(store):
    store.segments.grace = 0
    blob = store.put(b"x" * 100)
    before = _allocated(store)
    store.delete(blob)
    assert _allocated(store) == before - segments.BLOCK


def test_a_full_segment_is_followed_by_a_new_one(store, monkeypatch):
    monkeypatch.setattr(segments, "SEGMENT_SIZE", 3 * segments.BLOCK)
    ids = [store.put(b"%d" % n * 100) for n in range(7)]
    assert len({blob.split("-")[0] for blob in ids}) == 3
    assert len(list(store.segments.dir.iterdir())) == 3
    for n, blob in enumerate(ids):
        with store.open(blob) as handle:
            assert handle.read() == b"%d" % n * 100


def test_threads_writing_together_never_overlap(store):
    def write(n):
        data = os.urandom(1 + (n * 7919) % 20000)
        return store.put(data), data

    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(write, range(400)))
    assert len({blob for blob, _ in written}) == 400
    for blob, data in written:
        with store.open(blob) as handle:
            assert handle.read() == data


def test_processes_write_segments_of_their_own(store):
    parent = store.put(b"parent")
    script = ("import sys; from eucalyptus.drivers.objects.fs import FsBlobStore; "
              "print(FsBlobStore(sys.argv[1]).put(b'child'))")
    child = subprocess.run([sys.executable, "-c", script, str(store.root)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert child.split("-")[0] != parent.split("-")[0]
    pid = os.fork()
    if pid == 0:                                       # a forked worker starts its own
        os._exit(0 if store.put(b"forked").split("-")[0] != parent.split("-")[0] else 1)
    assert os.waitpid(pid, 0)[1] == 0
    with store.open(child) as handle:
        assert handle.read() == b"child"


def test_a_crash_leaves_only_what_the_sweep_removes(store):
    named = store.put(b"named" * 100)
    script = ("import os, sys; from eucalyptus.drivers.objects.fs import FsBlobStore; "
              "s = FsBlobStore(sys.argv[1]); [s.put(os.urandom(3000)) for _ in range(5)]; "
              "os._exit(9)")                           # written, never named by any row
    assert subprocess.run([sys.executable, "-c", script, str(store.root)]).returncode == 9
    assert len(list(store.segments.dir.iterdir())) == 2
    assert store.remove_unnamed({named}) == 1          # the crashed process' whole segment
    assert len(list(store.segments.dir.iterdir())) == 1
    with store.open(named) as handle:
        assert handle.read() == b"named" * 100


def test_copies_of_packed_blobs_read_the_right_bytes(store):
    first, second = store.put(b"a" * 5000), store.put(b"b" * 300)
    copy = store.copy_range(second, 100, 50)
    assert store.size(copy) == 50
    with store.open(copy) as handle:
        assert handle.read() == b"b" * 50
    joined = store.concatenate([second, first])
    with store.open(joined) as handle:
        assert handle.read() == b"b" * 300 + b"a" * 5000
    with pytest.raises(ValueError):
        store.copy_range(second, 200, 200)             # past the blob, not into its neighbour
