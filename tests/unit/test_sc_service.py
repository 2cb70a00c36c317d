"""The storage controller's volume and snapshot services over real files and real NBD
daemons, with snapshots kept in memory instead of Walrus; restarts rebuild from the state."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest

from eucalyptus.drivers.export.base import Endpoint
from eucalyptus.drivers.export.nbd import NbdExportDriver
from eucalyptus.drivers.volume.file import FileVolumeDriver
from eucalyptus.errors import InvalidParameterValue
from eucalyptus.rpc.messages import from_wire, to_wire
from eucalyptus.sc.errors import (IncorrectState, InsufficientVolumeCapacity, SnapshotNotFound,
                                  VolumeInUse, VolumeNotFound)
from eucalyptus.sc.messages import VolumeCreate, VolumeExport
from eucalyptus.sc.snapshots import SnapshotService
from eucalyptus.sc.state import ScState, SnapshotRecord
from eucalyptus.sc.volumes import VolumeService
from tests.fakes.snapshot_store import MemorySnapshotObjects

pytestmark = pytest.mark.skipif(shutil.which("qemu-storage-daemon") is None,
                                reason="qemu-storage-daemon is not installed")
MIB = 1 << 20


class Sc:
    """One 'process' of the storage controller over a directory (build again = restart)."""

    def __init__(self, root, store, max_gib=0):
        self.state = ScState(root / "state.sqlite")
        self.driver = FileVolumeDriver(root / "volumes")
        self.exporter = NbdExportDriver(root / "run")
        self.volumes = VolumeService(self.state, self.driver, self.exporter, store,
                                     root / "volumes" / ".staging", max_gib)
        self.snapshots = SnapshotService(self.volumes, chunk_size=MIB)

    async def stop(self):
        await self.snapshots.stop()
        await self.volumes.stop()
        self.state.close()

    async def wait_snapshot(self, snapshot_id):
        for _ in range(600):
            (info,) = self.snapshots.describe([snapshot_id])
            if info.state != "pending":
                return info
            await asyncio.sleep(0.02)
        raise AssertionError("snapshot still pending")

    async def wait_volume(self, volume_id):
        for _ in range(600):
            (info,) = self.volumes.describe([volume_id])
            if info.state != "creating":
                return info
            await asyncio.sleep(0.02)
        raise AssertionError("volume still creating")

    async def close_exports(self):
        for record in self.state.volumes():
            if record.endpoint:
                await self.exporter.close(Endpoint.from_dict(record.endpoint))


def uri(export: VolumeExport) -> str:
    return f"nbd+unix:///{export.export_name}?socket={export.nbd_socket}"


def qemu_io(target: str, *commands: str) -> None:
    argv = ["qemu-io", "-f", "raw"]
    for c in commands:
        argv += ["-c", c]
    done = subprocess.run(argv + [target], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "fail" not in done.stdout.lower(), done.stdout + done.stderr


def run(tmp_path, scenario, max_gib=0):
    store = MemorySnapshotObjects()

    async def main():
        sc = Sc(tmp_path, store, max_gib)
        try:
            await scenario(sc, store)
        finally:
            await sc.close_exports()
            await sc.stop()
    asyncio.run(main())


def test_messages_round_trip_on_the_wire():
    msg = VolumeCreate("vol-00000001", 2, "snap-00000001")
    assert from_wire(VolumeCreate, to_wire(msg)) == msg
    assert from_wire(VolumeCreate, {"volume_id": "vol-00000001", "size_gib": 1}).snapshot_id == ""


def test_create_describe_delete(tmp_path):
    async def scenario(sc, _store):
        info = await sc.volumes.create("vol-00000001", 1)
        assert (info.state, info.size_gib) == ("available", 1)
        assert (await sc.volumes.create("vol-00000001", 5)).size_gib == 1     # idempotent
        assert [v.volume_id for v in sc.volumes.describe([])] == ["vol-00000001"]
        cap = sc.volumes.capacity()
        assert (cap.allocated_gib, cap.volumes) == (1, 1) and cap.free_gib > 0
        with pytest.raises(VolumeNotFound):
            sc.volumes.describe(["vol-00000001", "vol-0000dead"])
        path = sc.driver.path("vol-00000001")
        assert (await sc.volumes.delete("vol-00000001")).state == "deleted"
        assert not path.exists() and sc.volumes.describe([]) == []
        assert (await sc.volumes.delete("vol-00000001")).state == "deleted"
    run(tmp_path, scenario)


def test_bad_sizes_ids_and_capacity(tmp_path):
    async def scenario(sc, _store):
        for size in (0, -1, 16385):
            with pytest.raises(InvalidParameterValue):
                await sc.volumes.create("vol-00000002", size)
        with pytest.raises(InvalidParameterValue):
            await sc.volumes.create("volume-2", 1)
        await sc.volumes.create("vol-00000002", 2)
        with pytest.raises(InsufficientVolumeCapacity):
            await sc.volumes.create("vol-00000003", 2)            # quota 3 GiB
        await sc.volumes.create("vol-00000003", 1)
        with pytest.raises(InsufficientVolumeCapacity):
            await sc.volumes.create("vol-00000004", 1)
        assert not sc.driver.exists("vol-00000004")
        with pytest.raises(SnapshotNotFound):
            await sc.volumes.create("vol-00000004", 1, "snap-0000abcd")
    run(tmp_path, scenario, max_gib=3)


def test_free_space_bounds_a_volume(tmp_path):
    async def scenario(sc, _store):
        with pytest.raises(InsufficientVolumeCapacity):
            await sc.volumes.create("vol-00000005", sc.volumes.capacity().free_gib + 1)
    run(tmp_path, scenario)


def test_export_belongs_to_one_client(tmp_path):
    async def scenario(sc, _store):
        await sc.volumes.create("vol-00000006", 1)
        first = await sc.volumes.export("vol-00000006", "i-00000001")
        assert await sc.volumes.export("vol-00000006", "i-00000001") == first
        with pytest.raises(VolumeInUse):
            await sc.volumes.export("vol-00000006", "i-00000002")
        with pytest.raises(InvalidParameterValue):
            await sc.volumes.export("vol-00000006", "")
        await asyncio.to_thread(qemu_io, uri(first), "write -P 0x77 0 1M")
        info = await sc.volumes.unexport("vol-00000006", "i-00000002")    # not the holder
        assert info.exported_to == "i-00000001"
        info = await sc.volumes.unexport("vol-00000006", "i-00000001")
        assert info.exported_to == "" and not os.path.exists(first.nbd_socket)
        second = await sc.volumes.export("vol-00000006", "i-00000002")
        await asyncio.to_thread(qemu_io, uri(second), "read -P 0x77 0 1M")
        with pytest.raises(VolumeNotFound):
            await sc.volumes.export("vol-0000dead", "i-00000001")
        deleted = await sc.volumes.delete("vol-00000006")          # stops the export first
        assert deleted.state == "deleted" and not os.path.exists(second.nbd_socket)
    run(tmp_path, scenario)


def test_snapshot_of_an_exported_volume_and_restore(tmp_path):
    async def scenario(sc, store):
        await sc.volumes.create("vol-00000007", 1)
        ex = await sc.volumes.export("vol-00000007", "i-00000001")
        await asyncio.to_thread(qemu_io, uri(ex), "write -P 0x41 0 3M",
                                "write -P 0x42 700M 1M")
        info = await sc.snapshots.create("snap-00000007", "vol-00000007")
        assert (info.state, info.size_gib) == ("pending", 1)
        done = await sc.wait_snapshot("snap-00000007")
        assert (done.state, done.progress) == ("completed", 100), done.reason
        assert sum(k.startswith("snap-00000007/chunk-") for k in store.objects) == 4
        # the volume stayed exported and writable
        await asyncio.to_thread(qemu_io, uri(ex), "write -P 0x43 0 1M")
        with pytest.raises(InvalidParameterValue):
            await sc.volumes.create("vol-00000008", 17000, "snap-00000007")
        sc.state.put_snapshot(SnapshotRecord("snap-0000beef", "vol-00000007", "pending", 5, 1))
        with pytest.raises(IncorrectState):
            await sc.volumes.create("vol-00000008", 1, "snap-0000beef")
        sc.state.drop_snapshot("snap-0000beef")
        made = await sc.volumes.create("vol-00000008", 0, "snap-00000007")
        assert (made.state, made.size_gib, made.snapshot_id) == ("creating", 1, "snap-00000007")
        assert (await sc.wait_volume("vol-00000008")).state == "available"
        ex2 = await sc.volumes.export("vol-00000008", "i-00000002")
        await asyncio.to_thread(qemu_io, uri(ex2), "read -P 0x41 0 3M",
                                "read -P 0x42 700M 1M", "read -P 0 3M 697M")
        assert (await sc.snapshots.delete("snap-00000007")).state == "deleted"
        assert not any(k.startswith("snap-00000007/") for k in store.objects)
        assert (await sc.snapshots.delete("snap-00000007")).state == "deleted"
        with pytest.raises(SnapshotNotFound):
            sc.snapshots.describe(["snap-00000007"])
    run(tmp_path, scenario)


def test_snapshot_of_an_idle_volume_and_of_missing_ones(tmp_path):
    async def scenario(sc, store):
        await sc.volumes.create("vol-00000009", 1)
        ex = await sc.volumes.export("vol-00000009", "i-00000001")
        await asyncio.to_thread(qemu_io, uri(ex), "write -P 0x51 5M 2M")
        await sc.volumes.unexport("vol-00000009", "i-00000001")
        await sc.snapshots.create("snap-00000009", "vol-00000009")
        assert (await sc.wait_snapshot("snap-00000009")).state == "completed"
        assert sorted(k for k in store.objects if "chunk" in k) == [
            "snap-00000009/chunk-000005", "snap-00000009/chunk-000006"]
        with pytest.raises(VolumeNotFound):
            await sc.snapshots.create("snap-0000000a", "vol-0000dead")
        with pytest.raises(InvalidParameterValue):
            await sc.snapshots.create("snapshot-1", "vol-00000009")
        assert not list((tmp_path / "volumes" / ".staging").iterdir())
    run(tmp_path, scenario)


def test_a_failed_upload_is_an_error_with_nothing_left(tmp_path):
    async def scenario(sc, store):
        await sc.volumes.create("vol-0000000b", 1)
        ex = await sc.volumes.export("vol-0000000b", "i-00000001")
        await asyncio.to_thread(qemu_io, uri(ex), "write -P 0x61 0 4M")
        store.fail_puts_after = 2
        await sc.snapshots.create("snap-0000000b", "vol-0000000b")
        failed = await sc.wait_snapshot("snap-0000000b")
        assert failed.state == "error" and "injected" in failed.reason
        assert not any(k.startswith("snap-0000000b/") for k in store.objects)
    run(tmp_path, scenario)


def test_restart_adopts_or_restarts_exports_and_resumes_work(tmp_path):
    store = MemorySnapshotObjects()

    async def main():
        sc = Sc(tmp_path, store)
        await sc.volumes.create("vol-0000000c", 1)
        await sc.volumes.create("vol-0000000d", 1)
        kept = await sc.volumes.export("vol-0000000c", "i-00000001")
        lost = await sc.volumes.export("vol-0000000d", "i-00000002")
        await asyncio.to_thread(qemu_io, uri(kept), "write -P 0x71 0 1M")
        await asyncio.to_thread(qemu_io, uri(lost), "write -P 0x72 0 1M")
        kept_pid = sc.state.volume("vol-0000000c").endpoint["pid"]
        await sc.exporter.close(Endpoint.from_dict(sc.state.volume("vol-0000000d").endpoint))
        # a snapshot whose copy was taken but not uploaded when the SC went down
        sc.driver.copy_raw("vol-0000000d", sc.volumes.staging / "snap-0000000d.raw")
        sc.state.put_snapshot(SnapshotRecord("snap-0000000d", "vol-0000000d", "pending", 0, 1))
        sc.state.put_snapshot(SnapshotRecord("snap-0000000e", "vol-0000000d", "pending", 0, 1))
        await sc.stop()

        sc = Sc(tmp_path, store)                                    # the restart
        try:
            await sc.volumes.recover()
            await sc.snapshots.recover()
            c = sc.state.volume("vol-0000000c")
            d = sc.state.volume("vol-0000000d")
            assert c.endpoint["pid"] == kept_pid and c.exported_to == "i-00000001"
            assert d.exported_to == "i-00000002"
            assert sc.exporter.running(Endpoint.from_dict(d.endpoint))
            await asyncio.to_thread(qemu_io, uri(lost), "read -P 0x72 0 1M")
            assert (await sc.wait_snapshot("snap-0000000d")).state == "completed"
            e = sc.snapshots.describe(["snap-0000000e"])[0]
            assert e.state == "error" and "restarted" in e.reason
        finally:
            await sc.close_exports()
            await sc.stop()
    asyncio.run(main())


def test_delete_cancels_a_restore(tmp_path):
    async def scenario(sc, store):
        await sc.volumes.create("vol-0000000f", 1)
        ex = await sc.volumes.export("vol-0000000f", "i-00000001")
        await asyncio.to_thread(qemu_io, uri(ex), "write -P 0x7f 0 8M")
        await sc.snapshots.create("snap-0000000f", "vol-0000000f")
        assert (await sc.wait_snapshot("snap-0000000f")).state == "completed"
        await sc.volumes.create("vol-00000010", 0, "snap-0000000f")
        assert (await sc.volumes.delete("vol-00000010")).state == "deleted"
        assert not sc.driver.exists("vol-00000010")
        assert not list((tmp_path / "volumes" / ".staging").iterdir())
        with pytest.raises(VolumeNotFound):
            sc.volumes.describe(["vol-00000010"])
    run(tmp_path, scenario)


def test_errors_survive_the_rpc_client():
    from eucalyptus.rpc.client import raise_error
    for cls, code in ((VolumeNotFound, "InvalidVolume.NotFound"),
                      (SnapshotNotFound, "InvalidSnapshot.NotFound"), (VolumeInUse, "VolumeInUse"),
                      (IncorrectState, "IncorrectState"),
                      (InsufficientVolumeCapacity, "InsufficientVolumeCapacity")):
        with pytest.raises(cls) as caught:
            raise_error(cls.status, code, "why")
        assert (caught.value.code, caught.value.message) == (code, "why")
    assert "vol-1" in VolumeNotFound.of("vol-1").message
