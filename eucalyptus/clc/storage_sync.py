"""The cloud controller's volume and snapshot records kept in step with the storage controller.

``storage_call(component, name, msg, reply, zone=...)`` is how EC2 handlers reach a zone's
storage controller (``sc/...`` routes of ``eucalyptus.sc.messages``; ``clc.clusters``).
``StorageSync.run_forever`` makes one pass every ``interval`` seconds, and asks an SC nothing
while nothing of its zone waits on it (pending snapshots: every SC is asked):

- volumes "creating" take the SC's state ("available", or "error" with its reason); volumes
  "deleting" go (with their tags) once the SC reports them deleted or no longer lists them;
- snapshots "pending" take the SC's progress and state ("completed" or "error"); one the SC
  no longer knows becomes "error";
- volumes attached to instances that terminated (or whose record is gone) are detached: the
  SC's export for that instance is ended, then the volume is deleted when its attachment said
  DeleteOnTermination, else it is "available" again.
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from eucalyptus.clc import clusters
from eucalyptus.db.compute import Instance
from eucalyptus.db.storage import Snapshot, Volume
from eucalyptus.errors import NotFound, ServiceError
from eucalyptus.sc.messages import (SnapshotIds, SnapshotInfo, SnapshotInfos,
                                    VolumeExportRequest, VolumeIds, VolumeInfo, VolumeInfos,
                                    VolumeRef)

log = logging.getLogger("eucalyptus.clc.storage")
GONE_INSTANCE_STATES = ("terminated",)


async def storage_call(component, name: str, msg=None, reply=None, timeout: float = 60.0,
                       zone: str | None = None):
    """Call the ``name`` route of the storage controller of ``zone`` as the CLC (None, or a
    zone no longer registered: the home cluster's; see ``clc.clusters.route``)."""
    target = clusters.route(component, zone)
    return await clusters.client(component, target.sc_url, timeout).call(
        "POST", name, msg, reply=reply)


def apply_volume_info(session, row: Volume, info: VolumeInfo | None) -> None:
    """Carry the SC's view of one volume into its record (None: the SC does not list it)."""
    from eucalyptus.services.ec2 import tags
    if row.state == "deleting":
        if info is None or info.state == "deleted":
            session.delete(row)
            tags.forget(session, [row.id])
        return
    if row.state != "creating":
        return
    if info is None:
        row.state, row.reason = "error", "the storage controller does not know the volume"
    elif info.state in ("available", "error"):
        row.state, row.reason = info.state, info.reason
        if info.size_gib:
            row.size_gib = info.size_gib


def apply_snapshot_info(row: Snapshot, info: SnapshotInfo | None) -> None:
    """Carry the SC's view of one pending snapshot into its record."""
    if row.state != "pending":
        return
    if info is None:
        row.state, row.reason = "error", "the storage controller does not know the snapshot"
        return
    row.progress = max(0, min(100, int(info.progress)))
    if info.state in ("completed", "error"):
        row.state, row.reason = info.state, info.reason
        if info.state == "completed":
            row.progress = 100


def orphaned_attachments(session) -> list[Volume]:
    """Volumes attached to an instance that terminated or whose record is gone."""
    rows = session.scalars(select(Volume).where(Volume.instance_id.is_not(None))).all()
    if not rows:
        return []
    states = dict(session.execute(select(Instance.id, Instance.state).where(
        Instance.id.in_({r.instance_id for r in rows}))).all())
    return [r for r in rows if states.get(r.instance_id, "terminated") in GONE_INSTANCE_STATES]


async def release_attachment(component, volume_id: str, instance_id: str,
                             zone: str | None = None) -> VolumeInfo | None:
    """End the SC export ``instance_id`` holds on ``volume_id`` (a missing volume is fine);
    ``zone`` is the volume's."""
    try:
        return await storage_call(component, "sc/volumes/unexport",
                                  VolumeExportRequest(volume_id, instance_id), VolumeInfo,
                                  timeout=30, zone=zone)
    except NotFound:
        return None


class StorageSync:
    def __init__(self, component, interval: float = 1.0):
        self.component = component
        self.interval = interval

    def _pending(self) -> tuple[set[str], bool, list[tuple[str, str, bool, str]]]:
        with self.component.db.session() as s:
            volumes = set(s.scalars(select(Volume.zone).where(
                Volume.state.in_(("creating", "deleting"))).distinct()))
            snapshots = s.scalar(select(Snapshot.id).where(
                Snapshot.state == "pending").limit(1)) is not None
            orphans = [(r.id, r.instance_id, r.delete_on_termination, r.zone)
                       for r in orphaned_attachments(s)]
        return volumes, snapshots, orphans

    async def once(self) -> None:
        """One pass; a step that fails (logged) does not keep the others from running."""
        volumes, snapshots, orphans = await asyncio.to_thread(self._pending)
        steps = [self._detach_terminated(*orphan) for orphan in orphans]
        if volumes or snapshots:
            every = await asyncio.to_thread(clusters.all, self.component)
            served = {c.zone: c for c in every}          # every[0]: the home cluster
            asked = {(served.get(z) or every[0]).zone for z in volumes}
            steps += [self._volumes(c, every) for c in every if c.zone in asked]
            if snapshots:
                steps.append(self._snapshots(every))
        for step in steps:
            try:
                await step
            except ServiceError as exc:
                log.warning("storage sync: %s", exc.message)
            except Exception:
                log.exception("storage sync step failed")

    async def _volumes(self, cluster, every) -> None:
        """The volumes of ``cluster``'s zone that wait take its SC's view."""
        listed = await storage_call(self.component, "sc/volumes/describe", VolumeIds(),
                                    VolumeInfos, timeout=20, zone=cluster.zone)
        await asyncio.to_thread(self._apply_volumes, listed.volumes,
                                clusters.zone_clause(Volume.zone, cluster, every))

    async def _snapshots(self, every) -> None:
        """Pending snapshots take the view of the SC taking them (any zone's). When an SC
        does not answer, only the snapshots some SC listed are updated."""
        async def ask(cluster) -> list[SnapshotInfo] | None:
            try:
                got = await storage_call(self.component, "sc/snapshots/describe",
                                         SnapshotIds(), SnapshotInfos, timeout=20,
                                         zone=cluster.zone)
                return got.snapshots
            except ServiceError as exc:
                log.warning("storage sync: SC of %s: %s", cluster.zone, exc.message)
                return None
        answers = await asyncio.gather(*(ask(c) for c in every))
        infos = [i for a in answers if a for i in a]
        await asyncio.to_thread(self._apply_snapshots, infos, None not in answers)

    def _apply_volumes(self, infos: list[VolumeInfo], where=None) -> None:
        by_id = {i.volume_id: i for i in infos}
        query = select(Volume).where(Volume.state.in_(("creating", "deleting")))
        if where is not None:
            query = query.where(where)
        with self.component.db.session() as s:
            for row in s.scalars(query).all():
                apply_volume_info(s, row, by_id.get(row.id))

    def _apply_snapshots(self, infos: list[SnapshotInfo], complete: bool = True) -> None:
        by_id = {i.snapshot_id: i for i in infos}
        with self.component.db.session() as s:
            for row in s.scalars(select(Snapshot).where(Snapshot.state == "pending")).all():
                if complete or row.id in by_id:
                    apply_snapshot_info(row, by_id.get(row.id))

    async def _detach_terminated(self, volume_id: str, instance_id: str, delete: bool,
                                 zone: str | None = None) -> None:
        await release_attachment(self.component, volume_id, instance_id, zone)
        info = None
        if delete:
            info = await storage_call(self.component, "sc/volumes/delete",
                                      VolumeRef(volume_id), VolumeInfo, timeout=60, zone=zone)

        def write() -> None:
            from eucalyptus.services.ec2 import tags
            with self.component.db.session() as s:
                row = s.get(Volume, volume_id)
                if row is None or row.instance_id != instance_id:
                    return
                row.instance_id, row.device, row.attach_state = None, "", ""
                row.attached_at = None
                if info is None:
                    return
                if info.state == "deleted":
                    s.delete(row)
                    tags.forget(s, [volume_id])
                else:
                    row.state = "deleting"
        await asyncio.to_thread(write)
        log.info("volume %s detached from terminated %s%s", volume_id, instance_id,
                 " and deleted" if delete else "")

    async def run_forever(self) -> None:
        while True:
            try:
                await self.once()
            except ServiceError as exc:
                log.info("storage sync: %s", exc.message)
            except Exception:
                log.exception("storage sync failed")
            await asyncio.sleep(self.interval)
