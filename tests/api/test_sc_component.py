"""A live storage controller in a cloud-in-a-box: volumes exported over NBD, written with
qemu-io, snapshotted to Walrus, restored, deleted; its internal API's errors and callers."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time

import pytest

from eucalyptus.errors import AccessDenied, ServiceError
from eucalyptus.rpc.client import RpcClient
from eucalyptus.sc import messages as m

pytestmark = [
    pytest.mark.parametrize("cloud", ["sqlite"], indirect=True),   # the SC uses no database
    pytest.mark.skipif(shutil.which("qemu-storage-daemon") is None,
                       reason="qemu-storage-daemon is not installed"),
]
BUCKET = "eucalyptus-snapshots"


def new_id(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"


def call(cloud, route, message=None, reply=None, caller="admin"):
    async def go():
        async with RpcClient.for_caller(cloud.data_dir, caller, cloud.urls["sc"], 60) as sc:
            return await sc.call("POST", route, message, reply=reply)
    return asyncio.run(go())


def uri(export: m.VolumeExport) -> str:
    return f"nbd+unix:///{export.export_name}?socket={export.nbd_socket}"


def qemu_io(target: str, *commands: str) -> str:
    argv = ["qemu-io", "-f", "raw"]
    for c in commands:
        argv += ["-c", c]
    done = subprocess.run(argv + [target], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "fail" not in done.stdout.lower(), done.stdout + done.stderr
    return done.stdout


def wait(cloud, route, message, reply, field, busy, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        (found,) = getattr(call(cloud, route, message, reply), field)
        if found.state != busy or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_volume_snapshot_restore_round_trip(cloud):
    vol, copy, snap = new_id("vol"), new_id("vol"), new_id("snap")
    made = call(cloud, "sc/volumes/create", m.VolumeCreate(vol, 1), m.VolumeInfo)
    assert (made.state, made.size_gib) == ("available", 1)
    export = call(cloud, "sc/volumes/export", m.VolumeExportRequest(vol, "i-0000aaaa"),
                  m.VolumeExport)
    assert export.export_name == vol and os.path.exists(export.nbd_socket)
    try:
        qemu_io(uri(export), "read -P 0 0 16M")                     # a new volume is zeros
        qemu_io(uri(export), "write -P 0xa5 0 2M", "write -P 0x5a 1000M 8M")
        pending = call(cloud, "sc/snapshots/create", m.SnapshotCreate(snap, vol), m.SnapshotInfo)
        assert pending.state in ("pending", "completed")
        done = wait(cloud, "sc/snapshots/describe", m.SnapshotIds([snap]), m.SnapshotInfos,
                    "snapshots", "pending")
        assert (done.state, done.progress, done.size_gib) == ("completed", 100, 1), done.reason
        qemu_io(uri(export), "write -P 0xff 0 1M")                  # after the snapshot
        keys = [o["Key"] for o in cloud.client("s3").list_objects_v2(
            Bucket=BUCKET, Prefix=f"{snap}/")["Contents"]]
        assert f"{snap}/manifest.json" in keys
        assert len(keys) == 1 + 1 + 1                               # two data chunks only
    finally:
        call(cloud, "sc/volumes/unexport", m.VolumeExportRequest(vol, "i-0000aaaa"))
    restored = call(cloud, "sc/volumes/create", m.VolumeCreate(copy, 0, snap), m.VolumeInfo)
    assert (restored.state, restored.snapshot_id) == ("creating", snap)
    ready = wait(cloud, "sc/volumes/describe", m.VolumeIds([copy]), m.VolumeInfos, "volumes",
                 "creating")
    assert ready.state == "available", ready.reason
    export2 = call(cloud, "sc/volumes/export", m.VolumeExportRequest(copy, "i-0000bbbb"),
                   m.VolumeExport)
    try:
        qemu_io(uri(export2), "read -P 0xa5 0 2M", "read -P 0x5a 1000M 8M",
                "read -P 0 2M 998M", "read -P 0 1008M 16M")
    finally:
        call(cloud, "sc/volumes/unexport", m.VolumeExportRequest(copy, ""))
    images = list((cloud.data_dir / "sc" / "volumes").glob(f"{vol}.*"))
    assert images
    for v in (vol, copy):
        assert call(cloud, "sc/volumes/delete", m.VolumeRef(v), m.VolumeInfo).state == "deleted"
    assert not any(p.exists() for p in images)
    assert call(cloud, "sc/snapshots/delete", m.SnapshotRef(snap), m.SnapshotInfo).state == \
        "deleted"
    assert "Contents" not in cloud.client("s3").list_objects_v2(Bucket=BUCKET,
                                                               Prefix=f"{snap}/")


def test_errors_carry_the_ec2_codes(cloud):
    vol = new_id("vol")

    def code(route, message):
        with pytest.raises(ServiceError) as caught:
            call(cloud, route, message)
        return caught.value.code

    assert code("sc/volumes/describe", m.VolumeIds([vol])) == "InvalidVolume.NotFound"
    assert code("sc/snapshots/describe", m.SnapshotIds([new_id("snap")])) == \
        "InvalidSnapshot.NotFound"
    assert code("sc/volumes/create", m.VolumeCreate(vol, 0, new_id("snap"))) == \
        "InvalidSnapshot.NotFound"
    assert code("sc/volumes/create", m.VolumeCreate(vol, 16384)) == "InsufficientVolumeCapacity"
    assert code("sc/volumes/create", m.VolumeCreate("bad", 1)) == "InvalidParameterValue"
    assert code("sc/volumes/create", {"volume_id": vol}) == "ValidationError"
    call(cloud, "sc/volumes/create", m.VolumeCreate(vol, 1))
    try:
        call(cloud, "sc/volumes/export", m.VolumeExportRequest(vol, "i-00000001"))
        assert code("sc/volumes/export", m.VolumeExportRequest(vol, "i-00000002")) == \
            "VolumeInUse"
        (info,) = call(cloud, "sc/volumes/describe", m.VolumeIds([vol]), m.VolumeInfos).volumes
        assert info.exported_to == "i-00000001"
    finally:
        call(cloud, "sc/volumes/delete", m.VolumeRef(vol))
    assert code("sc/snapshots/create", m.SnapshotCreate(new_id("snap"), vol)) == \
        "InvalidVolume.NotFound"


def test_capacity_health_and_callers(cloud):
    cap = call(cloud, "sc/capacity", None, m.StorageCapacity)
    assert cap.total_gib >= cap.free_gib > 0
    health = asyncio.run(_health(cloud))
    assert health["details"]["free_gib"] == cap.free_gib or abs(
        health["details"]["free_gib"] - cap.free_gib) <= 1
    assert health["details"]["driver"] == "file"
    with pytest.raises(AccessDenied):
        call(cloud, "sc/capacity", caller="nc")


async def _health(cloud):
    async with RpcClient.for_caller(cloud.data_dir, "admin", cloud.urls["sc"]) as sc:
        return await sc.call("GET", "health")
