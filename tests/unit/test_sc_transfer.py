"""Snapshot transfer: chunked upload with a manifest, verified restore (in-memory store)."""
from __future__ import annotations

import asyncio
import json
import os

import pytest

from eucalyptus.sc import snapshot_transfer as transfer
from eucalyptus.sc.object_store import ObjectMissing, ObjectStoreError
from tests.fakes.snapshot_store import MemorySnapshotObjects
from tests.unit.test_volume_driver_extents import sparse_file

MIB = 1 << 20
CHUNK = MIB


def run(coro):
    return asyncio.run(coro)


def test_upload_skips_holes_and_zero_chunks_and_records_digests(tmp_path):
    data = os.urandom(CHUNK + 100)
    src = sparse_file(tmp_path / "v.raw", 8 * CHUNK + 512, {
        2 * CHUNK: data, 5 * CHUNK: bytes(CHUNK), 8 * CHUNK: b"t" * 512})
    store, seen = MemorySnapshotObjects(), []
    manifest = run(transfer.upload(store, "snap-00000001", "vol-00000001", src, CHUNK,
                                   seen.append, concurrency=2))
    assert [c[0] for c in manifest["chunks"]] == [2, 3, 8]     # chunk 5 is written zeros
    assert manifest["size"] == 8 * CHUNK + 512
    assert seen == sorted(seen) and seen[-1] == 100
    assert set(store.objects) == {"snap-00000001/manifest.json", "snap-00000001/chunk-000002",
                                  "snap-00000001/chunk-000003", "snap-00000001/chunk-000008"}
    assert len(store.objects["snap-00000001/chunk-000008"]) == 512
    stored = json.loads(store.objects["snap-00000001/manifest.json"])
    assert stored == manifest


def test_restore_gives_exactly_the_snapshot(tmp_path):
    data = os.urandom(3 * CHUNK)
    src = sparse_file(tmp_path / "v.raw", 16 * CHUNK, {CHUNK // 2: data})
    store = MemorySnapshotObjects()
    run(transfer.upload(store, "snap-00000002", "vol-1", src, CHUNK, lambda p: None))
    manifest = run(transfer.read_manifest(store, "snap-00000002"))
    dest, seen = tmp_path / "restored.raw", []
    run(transfer.restore(store, manifest, dest, 20 * CHUNK, seen.append))
    assert dest.stat().st_size == 20 * CHUNK                     # grown to the asked size
    assert dest.read_bytes()[:16 * CHUNK] == src.read_bytes()
    assert dest.stat().st_blocks * 512 < 8 * CHUNK               # holes stay holes
    assert seen[-1] == 100


def test_a_corrupt_chunk_fails_the_restore_and_leaves_nothing(tmp_path):
    src = sparse_file(tmp_path / "v.raw", 4 * CHUNK, {0: os.urandom(2 * CHUNK)})
    store = MemorySnapshotObjects()
    run(transfer.upload(store, "snap-00000003", "vol-1", src, CHUNK, lambda p: None))
    key = "snap-00000003/chunk-000001"
    store.objects[key] = bytes([store.objects[key][0] ^ 1]) + store.objects[key][1:]
    manifest = run(transfer.read_manifest(store, "snap-00000003"))
    dest = tmp_path / "restored.raw"
    with pytest.raises(transfer.SnapshotCorrupt):
        run(transfer.restore(store, manifest, dest, 4 * CHUNK, lambda p: None))
    assert not dest.exists()
    store.objects[key] = store.objects[key][:100]                # truncated chunk
    with pytest.raises(transfer.SnapshotCorrupt):
        run(transfer.restore(store, manifest, dest, 4 * CHUNK, lambda p: None))
    del store.objects[key]                                        # missing chunk
    with pytest.raises(ObjectMissing):
        run(transfer.restore(store, manifest, dest, 4 * CHUNK, lambda p: None))
    assert not dest.exists()


@pytest.mark.parametrize("bad", [
    {}, {"format": "other"}, {"format": transfer.FORMAT, "snapshot_id": "snap-00000009"},
    {"format": transfer.FORMAT, "snapshot_id": "snap-00000004", "size": 10, "chunk_size": 4,
     "chunks": [[3, "0" * 64]]},
    {"format": transfer.FORMAT, "snapshot_id": "snap-00000004", "size": 10, "chunk_size": 4,
     "chunks": [[0, "0" * 64], [0, "0" * 64]]},
    {"format": transfer.FORMAT, "snapshot_id": "snap-00000004", "size": 10, "chunk_size": 0,
     "chunks": []},
])
def test_bad_manifests_are_refused(bad):
    with pytest.raises(transfer.SnapshotCorrupt):
        transfer.check_manifest(bad, "snap-00000004")


def test_a_failed_upload_writes_no_manifest(tmp_path):
    src = sparse_file(tmp_path / "v.raw", 8 * CHUNK, {0: os.urandom(8 * CHUNK)})
    store = MemorySnapshotObjects()
    store.fail_puts_after = 3
    with pytest.raises(ObjectStoreError):
        run(transfer.upload(store, "snap-00000005", "vol-1", src, CHUNK, lambda p: None))
    assert "snap-00000005/manifest.json" not in store.objects


def test_delete_removes_every_object(tmp_path):
    src = sparse_file(tmp_path / "v.raw", 4 * CHUNK, {0: os.urandom(4 * CHUNK)})
    store = MemorySnapshotObjects()
    run(transfer.upload(store, "snap-00000006", "vol-1", src, CHUNK, lambda p: None))
    store.objects["snap-00000007/manifest.json"] = b"{}"
    assert run(transfer.delete(store, "snap-00000006")) == 4
    assert list(store.objects) == ["snap-00000007/manifest.json"]
