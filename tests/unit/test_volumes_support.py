"""What the EBS handler tests share: a database with two accounts and instances, an in-process
storage controller and cluster that keep the contracts of ``eucalyptus.sc.messages`` and
``cc.volumes`` (they hold state and refuse what the real ones refuse), and ``call``/``code``.
"""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.db.compute import Instance, Reservation
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.schema import Account
from eucalyptus.errors import ClientError, NotFound, ServerError, ServiceError
from eucalyptus.nc.volumes import AttachedVolume
from eucalyptus.sc import messages as sc
from eucalyptus.services import ec2
from tests.fakes.clc_component import FakeClc, request_context

TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)
A, B, C = "111111111111", "222222222222", "333333333333"
ZONE = "zone-a"


class FakeStorage:
    """The SC's internal API over dicts; ``restore_done`` and ``snapshot_done`` decide whether
    restores and snapshots finish at once or stay in progress."""

    def __init__(self, capacity_gib: int = 100):
        self.volumes: dict[str, sc.VolumeInfo] = {}
        self.snapshots: dict[str, sc.SnapshotInfo] = {}
        self.capacity_gib = capacity_gib
        self.restore_done = True
        self.snapshot_done = True
        self.calls: list[str] = []
        self.down = False

    async def __call__(self, _component, name, msg=None, reply=None, timeout=60.0, zone=None):
        self.calls.append(name)
        if self.down:
            raise ServerError("ServiceUnavailable", "storage controller down")
        out = getattr(self, name.split("/", 1)[1].replace("/", "_"))(msg)
        return dataclasses.replace(out) if dataclasses.is_dataclass(out) else out

    def volumes_create(self, msg: sc.VolumeCreate) -> sc.VolumeInfo:
        size = msg.size_gib
        if msg.snapshot_id:
            snap = self.snapshots.get(msg.snapshot_id)
            if snap is None:
                raise NotFound("InvalidSnapshot.NotFound", msg.snapshot_id)
            size = size or snap.size_gib
        used = sum(v.size_gib for v in self.volumes.values() if v.state != "deleted")
        if used + size > self.capacity_gib:
            raise ServerError("InsufficientVolumeCapacity", "no room")
        state = "creating" if msg.snapshot_id and not self.restore_done else "available"
        self.volumes[msg.volume_id] = sc.VolumeInfo(msg.volume_id, size, state,
                                                    snapshot_id=msg.snapshot_id)
        return self.volumes[msg.volume_id]

    def volumes_describe(self, msg: sc.VolumeIds) -> sc.VolumeInfos:
        return sc.VolumeInfos([v for v in self.volumes.values() if v.state != "deleted"])

    def volumes_delete(self, msg: sc.VolumeRef) -> sc.VolumeInfo:
        vol = self.volumes.get(msg.volume_id)
        if vol is None:
            return sc.VolumeInfo(msg.volume_id, 0, "deleted")
        vol.state, vol.exported_to = "deleted", ""
        return vol

    def volumes_export(self, msg: sc.VolumeExportRequest) -> sc.VolumeExport:
        vol = self.volumes.get(msg.volume_id)
        if vol is None or vol.state == "deleted":
            raise NotFound("InvalidVolume.NotFound", msg.volume_id)
        if vol.state != "available":
            raise ClientError("IncorrectState", vol.state)
        if vol.exported_to and vol.exported_to != msg.client:
            raise ClientError("VolumeInUse", f"exported to {vol.exported_to}")
        vol.exported_to = msg.client
        return sc.VolumeExport(vol.volume_id, vol.volume_id, nbd_socket="/run/sc/nbd.sock")

    def volumes_unexport(self, msg: sc.VolumeExportRequest) -> sc.VolumeInfo:
        vol = self.volumes.get(msg.volume_id)
        if vol is None:
            raise NotFound("InvalidVolume.NotFound", msg.volume_id)
        if not msg.client or vol.exported_to == msg.client:
            vol.exported_to = ""
        return vol

    def snapshots_create(self, msg: sc.SnapshotCreate) -> sc.SnapshotInfo:
        vol = self.volumes[msg.volume_id]
        done = self.snapshot_done
        self.snapshots[msg.snapshot_id] = sc.SnapshotInfo(
            msg.snapshot_id, msg.volume_id, "completed" if done else "pending",
            100 if done else 0, vol.size_gib)
        return self.snapshots[msg.snapshot_id]

    def snapshots_describe(self, msg: sc.SnapshotIds) -> sc.SnapshotInfos:
        return sc.SnapshotInfos([s for s in self.snapshots.values() if s.state != "deleted"])

    def snapshots_delete(self, msg: sc.SnapshotRef) -> sc.SnapshotInfo:
        snap = self.snapshots.get(msg.snapshot_id)
        if snap is None:
            return sc.SnapshotInfo(msg.snapshot_id, "", "deleted", 0, 0)
        snap.state = "deleted"
        return snap


class FakeCluster:
    """The CC's volume routes: attached[(instance, volume)] = device; ``fail`` raises once."""

    def __init__(self):
        self.attached: dict[tuple[str, str], str] = {}
        self.fail: ServiceError | None = None
        self.calls: list[str] = []

    async def __call__(self, _component, name, msg=None, reply=None, timeout=60.0, zone=None):
        self.calls.append(name)
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        if name == "cluster/volumes/attach":
            self.attached[(msg.instance_id, msg.volume_id)] = msg.device
            return AttachedVolume(msg.instance_id, msg.volume_id, msg.device)
        if name == "cluster/volumes/detach":
            self.attached.pop((msg.instance_id, msg.volume_id), None)
            return AttachedVolume(msg.instance_id, msg.volume_id, state="detached")
        raise AssertionError(f"unexpected cluster call {name}")


class World:
    def __init__(self, session, storage: FakeStorage, cluster: FakeCluster):
        self.session, self.storage, self.cluster = session, storage, cluster
        self.component = FakeClc()
        self.component.settings.zone = ZONE
        self.component.name = "clc"

    def call(self, op: str, account: str = A, **params) -> dict:
        ctx = request_context(self.session, self.component, operation=op, account_id=account)
        return asyncio.run(TABLE.call(ctx, params))

    def code(self, op: str, account: str = A, **params) -> str:
        with pytest.raises(ServiceError) as err:
            self.call(op, account, **params)
        return err.value.code

    def instance(self, iid: str, account: str = A, state: str = "running",
                 zone: str = ZONE) -> str:
        rid = "r-" + iid[2:]
        self.session.add(Reservation(id=rid, account_id=account))
        self.session.flush()
        self.session.add(Instance(id=iid, account_id=account, reservation_id=rid,
                                  image_id="emi-00000001", instance_type="m1.small",
                                  zone=zone, state=state))
        self.session.flush()
        return iid

    def volume(self, account: str = A, size: int = 1, **params) -> str:
        return self.call("CreateVolume", account, AvailabilityZone=ZONE, Size=size,
                         **params)["VolumeId"]


@pytest.fixture
def ebs(tmp_path, monkeypatch):
    from eucalyptus.clc import storage_sync
    from eucalyptus.services.ec2 import volume_attachments
    storage, cluster = FakeStorage(), FakeCluster()
    monkeypatch.setattr(storage_sync, "storage_call", storage)
    monkeypatch.setattr(volume_attachments, "cluster_call", cluster)
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    with db.session() as s:
        s.add_all([Account(id=A, name="a"), Account(id=B, name="b"), Account(id=C, name="c")])
        s.flush()
        yield World(s, storage, cluster)
    db.dispose()
