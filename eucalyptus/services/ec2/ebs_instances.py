"""EBS-backed instances: root volumes at launch, StopInstances/StartInstances, termination.

RunInstances of an EBS-backed image (``EbsLaunch``): the image's block device mapping, with
the launch's BlockDeviceMappings laid over it by device name (a bigger VolumeSize, another
DeleteOnTermination or VolumeType, NoDevice to leave a device out, new Ebs devices), gives
one volume per Ebs device and instance. The volumes are made by the storage controller (from
their snapshots, or empty) before the cluster is asked to place the instances; each root
volume is exported to its instance and the node boots from that NBD export
(``nc.root_volume``) with the image's kernel and ramdisk. The volumes are recorded attached
to their instance (DescribeVolumes: in-use, with the mapping's device and
DeleteOnTermination); non-root ones are hot-plugged by ``EbsSync`` once the instance runs.
A launch that fails deletes every volume it made; so do instances the cluster did not place.

StopInstances of a running EBS-backed instance: "stopping" at once; then (``finish_stop``)
the cluster ends its guest (the node powers it off cleanly, so its writes reach the volume,
and releases its node resources and network), the SC's exports of its volumes end, its
automatic public address goes, and it is "stopped" with its volumes still attached to it.
A guest that powers itself off stops the same way. Force is accepted; the node always
presses the guest's power button first and ends it after at most 15 s. StartInstances of a stopped one launches
it again, possibly on another node, from the same root volume: "pending", then "running",
and its other volumes are plugged again. Starting a running instance or stopping a stopped
one changes nothing; other states are IncorrectInstanceState; instance-store instances still
get IncorrectInstanceState. TerminateInstances (also of a stopped instance) leaves the
volumes to ``clc.storage_sync``: DeleteOnTermination volumes are deleted, others become
available.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from sqlalchemy import select

from eucalyptus import ids
from eucalyptus.cc.instance_messages import (InstanceIds, InstanceLaunch, InstanceViews,
                                             LaunchReply, LaunchRequest, NodeKeys)
from eucalyptus.clc import storage_sync
from eucalyptus.clc.instance_sync import USER_SHUTDOWN, cluster_call
from eucalyptus.db.compute import Instance, Reservation
from eucalyptus.db.ebs import InstanceBlockDevice
from eucalyptus.db.images import Image
from eucalyptus.db.schema import InstanceType, utcnow
from eucalyptus.db.storage import Volume
from eucalyptus.errors import ClientError, InternalError, ServerError, ServiceError
from eucalyptus.nc.root_volume import RootVolume
from eucalyptus.sc.messages import (VolumeCreate, VolumeExport, VolumeExportRequest,
                                    VolumeIds, VolumeInfo, VolumeInfos, VolumeRef)
from eucalyptus.services.ec2 import ebs_images

log = logging.getLogger("eucalyptus.ec2.ebs")
RESTORE_TIMEOUT = 300.0
GUEST_SHUTDOWN = "Client.InstanceInitiatedShutdown: Instance initiated shutdown"


# -- what an instance is ----------------------------------------------------------------------

def root_device_of(session, instance_id: str) -> InstanceBlockDevice | None:
    """The root device row of an EBS-backed instance; None for instance-store."""
    return session.scalar(select(InstanceBlockDevice).where(
        InstanceBlockDevice.instance_id == instance_id, InstanceBlockDevice.is_root.is_(True)))


def ebs_backed(session, instance_ids: list[str]) -> set[str]:
    if not instance_ids:
        return set()
    return set(session.scalars(select(InstanceBlockDevice.instance_id).where(
        InstanceBlockDevice.instance_id.in_(list(instance_ids)),
        InstanceBlockDevice.is_root.is_(True))))


def decorate(session, items: list[dict]) -> None:
    """RootDeviceType and BlockDeviceMappings of DescribeInstances/RunInstances ``items``:
    the instance's attached volumes by device."""
    wanted = [i["InstanceId"] for i in items]
    if not wanted:
        return
    roots = ebs_backed(session, wanted)
    attached: dict[str, list[Volume]] = {}
    for vol in session.scalars(select(Volume).where(Volume.instance_id.in_(wanted))
                               .order_by(Volume.device)):
        attached.setdefault(vol.instance_id, []).append(vol)
    from eucalyptus.services.ec2.volumes import attachment_item
    for item in items:
        iid = item["InstanceId"]
        if iid in roots:
            item["RootDeviceType"] = "ebs"
        mappings = []
        for vol in attached.get(iid, []):
            att = attachment_item(vol)
            mappings.append({"DeviceName": vol.device, "Ebs": {
                "AttachTime": att["AttachTime"], "DeleteOnTermination":
                att["DeleteOnTermination"], "Status": att["State"], "VolumeId": vol.id}})
        item["BlockDeviceMappings"] = mappings


def check_detach(session, volume: Volume) -> None:
    """DetachVolume of the root volume of an EBS-backed instance that is not stopped is
    OperationNotPermitted (the guest runs from it)."""
    root = root_device_of(session, volume.instance_id) if volume.instance_id else None
    if root is None or root.volume_id != volume.id:
        return
    instance = session.get(Instance, volume.instance_id)
    if instance is not None and instance.state not in ("stopped", "terminated"):
        raise ClientError("OperationNotPermitted", f"The root volume {volume.id} of "
                          f"'{instance.id}' cannot be detached while it is {instance.state}")


def reconcile_view(session, row: Instance, view, now) -> bool:
    """``clc.instance_sync`` asks this first for each live record: True when the record is
    EBS-backed business (stopping and stopped instances are driven here, not by the cluster's
    views; a guest of an EBS-backed instance that powered off makes it "stopping")."""
    if row.state in ("stopping", "stopped"):
        return True
    if view is None or view.state != "stopped" or view.node_state != "up":
        return False
    if root_device_of(session, row.id) is None:
        return False
    row.state, row.state_reason, row.changed_at = "stopping", GUEST_SHUTDOWN, now
    row.transition_reason = f"Instance initiated shutdown ({now:%Y-%m-%d %H:%M:%S} GMT)"
    return True


# -- launch -----------------------------------------------------------------------------------

@dataclass
class PlannedVolume:
    device: str
    snapshot_id: str
    size_gib: int
    volume_type: str
    delete_on_termination: bool
    root: bool


def plan(ctx, image: Image, overrides: list[dict] | None) -> list[PlannedVolume]:
    """The volumes each instance of ``image`` gets (empty for an instance-store image
    launched without Ebs mappings); InvalidBlockDeviceMapping and friends on bad overrides."""
    base = {r.device_name: r for r in ebs_images.image_mappings(ctx.db, image.id)}
    given = {m.device_name: m for m in ebs_images.parse_mappings(overrides)}
    out = []
    for device in sorted(set(base) | set(given)):
        row, m = base.get(device), given.get(device)
        root = device == image.root_device_name
        if m is not None and not m.is_ebs:
            if root and row is not None and row.snapshot_id:
                raise ebs_images.bad_mapping(f"The root device {device} cannot be left out")
            continue
        if m is None and (row.no_device or row.virtual_name):
            continue
        snapshot = (m.snapshot_id if m and m.snapshot_id else row.snapshot_id if row else "")
        size = (m.volume_size if m and m.volume_size else None)
        if snapshot:
            probe = ebs_images.Mapping(device, snapshot, size)
            snap_gib = ebs_images.snapshot_size(ctx.db, ctx.account_id, probe,
                                                visible=bool(m and m.snapshot_id))
            size = size or (row.volume_size if row and row.snapshot_id == snapshot else 0) \
                or snap_gib
            size = max(size, snap_gib)
        elif size is None:
            size = row.volume_size if row else 0
            if not size:
                raise ebs_images.bad_mapping(f"The mapping of {device} needs a SnapshotId or "
                                             "a VolumeSize")
        dot = (m.delete_on_termination if m and m.delete_on_termination is not None
               else row.delete_on_termination if row else True)
        vtype = (m.volume_type if m and m.volume_type else row.volume_type if row
                 else "standard")
        out.append(PlannedVolume(device, snapshot, size, vtype, bool(dot), root))
    if out and not any(p.root for p in out) and ebs_images.is_ebs_image(ctx.db, image):
        raise ebs_images.bad_mapping("The image's root device has no volume")
    return out


async def _create(component, volume_id: str, size: int, snapshot_id: str,
                  zone: str | None = None) -> None:
    await storage_sync.storage_call(component, "sc/volumes/create",
                                    VolumeCreate(volume_id, size, snapshot_id), VolumeInfo,
                                    zone=zone)


async def wait_available(component, volume_ids: list[str],
                         timeout: float = RESTORE_TIMEOUT, zone: str | None = None) -> None:
    """Until the SC (of ``zone``) reports every volume "available"; InternalError when one
    fails."""
    deadline = time.monotonic() + timeout
    while volume_ids:
        got = await storage_sync.storage_call(component, "sc/volumes/describe",
                                              VolumeIds(list(volume_ids)), VolumeInfos,
                                              timeout=20, zone=zone)
        states = {v.volume_id: v for v in got.volumes}
        failed = [v for v in states.values() if v.state == "error"]
        if failed:
            raise InternalError(f"volume {failed[0].volume_id} could not be made: "
                                f"{failed[0].reason}")
        if all(states.get(v) and states[v].state == "available" for v in volume_ids):
            return
        if time.monotonic() > deadline:
            raise InternalError(f"the volumes {', '.join(volume_ids)} were not made within "
                                f"{timeout:.0f} s")
        await asyncio.sleep(0.25)


async def export_root(component, volume_id: str, instance_id: str,
                      zone: str | None = None) -> RootVolume:
    got = await storage_sync.storage_call(component, "sc/volumes/export",
                                          VolumeExportRequest(volume_id, instance_id),
                                          VolumeExport, timeout=30, zone=zone)
    return RootVolume(volume_id, got.export_name, got.nbd_host, got.nbd_port, got.nbd_socket)


async def drop_volumes(component, pairs: list[tuple[str, str]], zone: str | None = None) -> None:
    """End the exports to (volume, instance) and delete the volumes (of ``zone``), logging
    failures."""
    for volume_id, instance_id in pairs:
        try:
            await storage_sync.release_attachment(component, volume_id, instance_id, zone)
            await storage_sync.storage_call(component, "sc/volumes/delete",
                                            VolumeRef(volume_id), VolumeInfo, zone=zone)
        except ServiceError as exc:
            log.warning("deleting volume %s of a failed launch: %s", volume_id, exc.message)


class EbsLaunch:
    """The volumes of one RunInstances call (see the module docstring)."""

    def __init__(self, ctx, planned: list[PlannedVolume], zone: str):
        self.ctx = ctx
        self.planned = planned
        self.zone = zone
        self.made: dict[str, list[tuple[PlannedVolume, str]]] = {}     # instance -> volumes

    async def prepare(self, launches: list[InstanceLaunch]) -> None:
        """Make every instance's volumes, wait for them, export each root to its instance."""
        component = self.ctx.component
        for launch in launches:
            vols = self.made.setdefault(launch.instance_id, [])
            for p in self.planned:
                vid = ids.ec2_id("volume")
                vols.append((p, vid))
                await _create(component, vid, p.size_gib, p.snapshot_id, self.zone)
        await wait_available(component, [v for vols in self.made.values() for _p, v in vols],
                             zone=self.zone)
        for launch in launches:
            for p, vid in self.made[launch.instance_id]:
                if p.root:
                    launch.root_volume = await export_root(component, vid, launch.instance_id,
                                                           self.zone)

    async def undo(self) -> None:
        await drop_volumes(self.ctx.component, [(vid, iid) for iid, vols in self.made.items()
                                                for _p, vid in vols], self.zone)
        self.made.clear()

    async def finish(self, reply: LaunchReply) -> None:
        """Record the placed instances' volumes; delete those of instances not placed."""
        placed = {p.instance_id for p in reply.instances}
        now = utcnow()
        db, account = self.ctx.db, self.ctx.account_id
        for iid, vols in self.made.items():
            if iid not in placed:
                continue
            for p, vid in vols:
                db.add(Volume(id=vid, account_id=account, size_gib=p.size_gib, zone=self.zone,
                              snapshot_id=p.snapshot_id, volume_type=p.volume_type,
                              state="available", instance_id=iid, device=p.device,
                              attach_state="attached" if p.root else "attaching",
                              attached_at=now, delete_on_termination=p.delete_on_termination))
                db.add(InstanceBlockDevice(instance_id=iid, device_name=p.device,
                                           account_id=account, volume_id=vid, is_root=p.root,
                                           plug_pending=not p.root))
        await drop_volumes(self.ctx.component, [(vid, iid) for iid, vols in self.made.items()
                                                if iid not in placed for _p, vid in vols],
                           self.zone)
        db.flush()


# -- stop -------------------------------------------------------------------------------------

def _tasks(component) -> dict[str, asyncio.Task]:
    return component.__dict__.setdefault("_ebs_stops", {})


def schedule_stop(component, instance_id: str) -> None:
    """Run ``finish_stop`` for the instance in the background unless it already runs."""
    tasks = _tasks(component)
    if instance_id in tasks and not tasks[instance_id].done():
        return
    task = asyncio.get_running_loop().create_task(finish_stop(component, instance_id))
    tasks[instance_id] = task
    task.add_done_callback(lambda _t: tasks.pop(instance_id, None))


async def finish_stop(component, instance_id: str) -> bool:
    """End the guest of a "stopping" instance and make it "stopped" (see the module
    docstring); False when the cluster did not confirm (``EbsSync`` tries again)."""
    from eucalyptus.clc import clusters
    zone = await asyncio.to_thread(clusters.zone_of_instance, component, instance_id)
    try:
        got = await cluster_call(component, "cluster/instances/terminate",
                                 InstanceIds([instance_id]), InstanceViews, timeout=60,
                                 zone=zone)
    except ServiceError as exc:
        log.warning("stopping %s: %s", instance_id, exc.message)
        return False
    view = next((v for v in got.instances if v.instance_id == instance_id), None)
    if view is not None and view.state != "terminated":
        return False

    def volumes() -> list[str]:
        with component.db.session() as s:
            return list(s.scalars(select(Volume.id).where(Volume.instance_id == instance_id)))
    for volume_id in await asyncio.to_thread(volumes):
        try:
            await storage_sync.release_attachment(component, volume_id, instance_id, zone)
        except ServiceError as exc:
            log.warning("releasing %s of stopped %s: %s", volume_id, instance_id, exc.message)
            return False

    def write() -> None:
        from eucalyptus.services.ec2 import addresses
        with component.db.session() as s:
            row = s.get(Instance, instance_id)
            if row is None or row.state != "stopping":
                return
            now = utcnow()
            row.state, row.changed_at = "stopped", now
            if not row.state_reason:
                row.state_reason = USER_SHUTDOWN
            row.private_ip = row.mac = row.node = ""
            for vol in s.scalars(select(Volume).where(Volume.instance_id == instance_id)):
                dev = s.get(InstanceBlockDevice, (instance_id, vol.device))
                if dev is None:
                    dev = InstanceBlockDevice(instance_id=instance_id, device_name=vol.device,
                                              account_id=row.account_id, volume_id=vol.id)
                    s.add(dev)
                dev.volume_id = vol.id
                if not dev.is_root:
                    dev.plug_pending = True
            addresses.release_for(s, component, [instance_id])
    await asyncio.to_thread(write)
    log.info("%s stopped", instance_id)
    return True


def _state(name: str) -> dict:
    from eucalyptus.services.ec2.instance_status import state_of
    return state_of(name)


def _check_all(ctx, rows: list[Instance], states: tuple[str, ...], done: str) -> None:
    """IncorrectInstanceState unless every instance is EBS-backed and in one of ``states``
    (``done``: "stopped" or "started", for the message)."""
    backed = ebs_backed(ctx.db, [r.id for r in rows])
    for row in rows:
        if row.id not in backed:
            raise ClientError("IncorrectInstanceState",
                              f"The instance '{row.id}' is not an EBS-backed instance: its "
                              "root device type is instance-store.")
        if row.state not in states:
            raise ClientError("IncorrectInstanceState", f"The instance '{row.id}' is not in a "
                              f"state from which it can be {done}.")


def stop(ctx, rows: list[Instance], force: bool = False) -> dict:
    """StopInstances (see the module docstring; ``force`` changes nothing)."""
    _check_all(ctx, rows, ("running", "stopping", "stopped"), "stopped")
    out, now = [], utcnow()
    for row in rows:
        previous = row.state
        if row.state == "running":
            row.state, row.changed_at, row.state_reason = "stopping", now, USER_SHUTDOWN
            row.transition_reason = f"User initiated ({now:%Y-%m-%d %H:%M:%S} GMT)"
        out.append({"InstanceId": row.id, "CurrentState": _state(row.state),
                    "PreviousState": _state(previous)})
    ctx.db.commit()                     # the background stop reads the committed state
    for row in rows:
        if row.state == "stopping":
            schedule_stop(ctx.component, row.id)
    return {"StoppingInstances": out}


# -- start ------------------------------------------------------------------------------------

async def start(ctx, rows: list[Instance]) -> dict:
    """StartInstances (see the module docstring)."""
    _check_all(ctx, rows, ("stopped", "pending", "running"), "started")
    out = []
    for row in rows:
        previous = row.state
        if row.state == "stopped":
            await _relaunch(ctx, row)
        out.append({"InstanceId": row.id, "CurrentState": _state(row.state),
                    "PreviousState": _state(previous)})
    return {"StartingInstances": out}


async def _relaunch(ctx, row: Instance) -> None:
    from eucalyptus.clc.launch_images import image_refs
    from eucalyptus.services.ec2 import addresses, instances, keypairs
    image = ctx.db.get(Image, row.image_id)
    kernel = ctx.db.get(Image, row.kernel_id) if row.kernel_id else None
    ramdisk = ctx.db.get(Image, row.ramdisk_id) if row.ramdisk_id else None
    size = ctx.db.get(InstanceType, row.instance_type)
    root = root_device_of(ctx.db, row.id)
    if image is None or size is None or (row.kernel_id and kernel is None) \
            or (row.ramdisk_id and ramdisk is None):
        raise ClientError("IncorrectInstanceState", f"The instance '{row.id}' cannot start: "
                          "its image, kernel, ramdisk or instance type is gone")
    root_vol = ctx.db.get(Volume, root.volume_id)
    if root_vol is None or root_vol.instance_id != row.id:
        raise ClientError("IncorrectInstanceState", f"The instance '{row.id}' cannot start: "
                          "its root volume is not attached to it")
    reservation = ctx.db.get(Reservation, row.reservation_id)
    groups = json.loads(reservation.security_groups or "[]") if reservation else []
    try:
        public_key = keypairs.public_key_of(ctx.db, row.account_id, row.key_name) \
            if row.key_name else ""
    except ClientError:
        public_key = ""             # the key pair was deleted since the launch
    keys = await cluster_call(ctx.component, "cluster/nodes/keys", None, NodeKeys, timeout=30,
                              zone=row.zone)
    if not keys.keys:
        raise ServerError("InsufficientInstanceCapacity",
                          f"There is no node in zone {row.zone} to run instances on.")
    boots = [(r, i) for r, i in (("kernel", kernel), ("ramdisk", ramdisk)) if i is not None]
    refs = await image_refs(ctx, boots, keys.keys)
    publics = addresses.reserve_for_launch(ctx, 1)
    try:
        metadata = instances._metadata(
            ctx, image, kernel, ramdisk, row.instance_type, row.key_name, public_key,
            row.user_data, groups, row.reservation_id, row.launch_index, row.zone,
            publics[0] if publics else "")
        export = await export_root(ctx.component, root_vol.id, row.id, row.zone)
        try:
            reply = await cluster_call(ctx.component, "cluster/instances/run", LaunchRequest(
                [InstanceLaunch(row.id, metadata, export)], 1, row.reservation_id,
                row.account_id, row.instance_type, size.vcpus, size.memory_mib, size.disk_gib,
                refs, instances._cmdline(ctx) if kernel else "", row.zone,
                groups=[gid for gid, _name in groups]), LaunchReply, timeout=120, zone=row.zone)
        except BaseException:
            await storage_sync.release_attachment(ctx.component, root_vol.id, row.id, row.zone)
            raise
        (placed,) = reply.instances
        now = utcnow()
        row.node, row.private_ip, row.mac = placed.node, placed.private_ip, placed.mac
        row.hostname = placed.hostname or row.hostname
        row.state, row.state_reason, row.transition_reason = "pending", "", ""
        row.launched_at = row.changed_at = row.reported_at = now
        if publics:
            addresses.record_launch(ctx.db, ctx.component, row.account_id,
                                    {row.id: publics[0]})
        ctx.db.flush()
    finally:
        addresses.unreserve(ctx.component, publics)


# -- the background pass ----------------------------------------------------------------------

class EbsSync:
    """One pass every ``interval`` seconds: pending EBS images settle, "stopping" instances
    nobody is stopping are stopped, volumes waiting for a running instance are plugged, and
    the device rows of instance records that are gone are dropped."""

    def __init__(self, component, interval: float = 1.0):
        self.component = component
        self.interval = interval

    def _scan(self) -> tuple[list[str], list[tuple[str, str, str]]]:
        with self.component.db.session() as s:
            ebs_images.settle_pending(s)
            stopping = list(s.scalars(select(Instance.id).where(Instance.state == "stopping")))
            plugs = s.execute(select(InstanceBlockDevice.instance_id,
                                     InstanceBlockDevice.volume_id,
                                     InstanceBlockDevice.device_name).join(
                Instance, Instance.id == InstanceBlockDevice.instance_id).where(
                InstanceBlockDevice.plug_pending.is_(True),
                Instance.state == "running")).all()
            gone = s.scalars(select(InstanceBlockDevice).where(
                InstanceBlockDevice.instance_id.not_in(select(Instance.id)))).all()
            for row in gone:
                s.delete(row)
        return stopping, [tuple(p) for p in plugs]

    async def _plug(self, instance_id: str, volume_id: str, device: str) -> None:
        from eucalyptus.services.ec2.volume_attachments import plug

        def still_ours() -> bool:
            with self.component.db.session() as s:
                vol = s.get(Volume, volume_id)
                if vol is not None and vol.instance_id == instance_id:
                    return True
                dev = s.get(InstanceBlockDevice, (instance_id, device))
                if dev is not None:
                    s.delete(dev)         # detached or deleted meanwhile
                return False
        if not await asyncio.to_thread(still_ours):
            return
        from eucalyptus.clc import clusters
        zone = await asyncio.to_thread(clusters.zone_of_instance, self.component, instance_id)
        await plug(self.component, volume_id, instance_id, device, zone)

        def done() -> None:
            with self.component.db.session() as s:
                vol, dev = s.get(Volume, volume_id), s.get(InstanceBlockDevice,
                                                           (instance_id, device))
                if vol is not None and vol.instance_id == instance_id:
                    vol.attach_state = "attached"
                if dev is not None:
                    dev.plug_pending = False
        await asyncio.to_thread(done)

    async def once(self) -> None:
        stopping, plugs = await asyncio.to_thread(self._scan)
        tasks = _tasks(self.component)
        for iid in stopping:
            if iid not in tasks:
                schedule_stop(self.component, iid)
        for iid, vid, device in plugs:
            try:
                await self._plug(iid, vid, device)
            except ServiceError as exc:
                log.info("plugging %s into %s: %s", vid, iid, exc.message)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:
                log.exception("ebs sync failed")
            await asyncio.sleep(self.interval)
