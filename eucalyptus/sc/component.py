"""The Storage Controller: EBS volumes and snapshots of one zone, kept under DIR/sc.

Wiring: the volume driver named by SC_VOLUME_DRIVER keeps images in SC_VOLUMES_PATH
(default DIR/sc/volumes); the NBD export driver (one qemu-storage-daemon per exported volume,
SC_NBD_TRANSPORT unix or tcp on BIND_ADDRESS with ports from SC_NBD_PORTS) keeps its sockets
and pidfiles in DIR/run/sc (or a short directory under /tmp when that path is too long for a
unix socket); records live in DIR/sc/state.sqlite; snapshots go to the Walrus bucket
SC_SNAPSHOT_BUCKET as the cloud administrator (``object_store``). The internal routes are
those of ``eucalyptus.sc.messages`` (callers clc, cc, admin).

On start the SC recovers (``VolumeService.recover``, ``SnapshotService.recover``); on stop it
cancels its background transfers, which resume at the next start, and leaves exports serving,
so guests keep their disks across a restart of the SC.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from eucalyptus.config import Settings
from eucalyptus.drivers import volume as volume_drivers
from eucalyptus.drivers.export.nbd import NbdExportDriver
from eucalyptus.rpc.service import Component
from eucalyptus.sc.messages import (SnapshotCreate, SnapshotIds, SnapshotInfo, SnapshotInfos,
                                    SnapshotRef, StorageCapacity, VolumeCreate, VolumeExport,
                                    VolumeExportRequest, VolumeIds, VolumeInfo, VolumeInfos,
                                    VolumeRef)
from eucalyptus.sc.object_store import SnapshotObjects
from eucalyptus.sc.snapshots import SnapshotService
from eucalyptus.sc.state import ScState
from eucalyptus.sc.volumes import VolumeService

CALLERS = {"clc", "cc", "admin"}
MAX_RUN_DIR = 80          # room for "/vol-<17 hex>.nbd" within a unix socket path


def export_run_dir(settings: Settings) -> Path:
    """Where export sockets live: DIR/run/sc, or /tmp/euca-sc-<hash> when that is too long."""
    preferred = settings.path("run", "sc")
    if len(str(preferred)) <= MAX_RUN_DIR:
        return preferred
    digest = hashlib.sha256(str(settings.data_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"euca-sc-{digest}"


class StorageController(Component):
    name = "sc"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.volumes_path = Path(settings.sc_volumes_path or settings.path("sc", "volumes"))
        self.volumes_path.mkdir(parents=True, exist_ok=True)
        first, last = settings.sc_nbd_ports
        self.exporter = NbdExportDriver(export_run_dir(settings), settings.sc_nbd_transport,
                                        settings.bind_address, range(first, last + 1))
        self.driver = volume_drivers.load(settings.sc_volume_driver, self.volumes_path)
        self.state = ScState(settings.path("sc", "state.sqlite"))
        self.store = SnapshotObjects.from_settings(settings, settings.sc_snapshot_bucket)
        self.volumes = VolumeService(self.state, self.driver, self.exporter, self.store,
                                     self.volumes_path / ".staging", settings.sc_max_gib)
        self.snapshots = SnapshotService(self.volumes, settings.sc_snapshot_chunk_mib << 20)
        add = self.routes.add
        add("POST", "sc/volumes/create", self._create, VolumeCreate, callers=CALLERS)
        add("POST", "sc/volumes/describe", self._describe, VolumeIds, callers=CALLERS)
        add("POST", "sc/volumes/delete", self._delete, VolumeRef, callers=CALLERS)
        add("POST", "sc/volumes/export", self._export, VolumeExportRequest, callers=CALLERS)
        add("POST", "sc/volumes/unexport", self._unexport, VolumeExportRequest, callers=CALLERS)
        add("POST", "sc/snapshots/create", self._snapshot, SnapshotCreate, callers=CALLERS)
        add("POST", "sc/snapshots/describe", self._describe_snapshots, SnapshotIds,
            callers=CALLERS)
        add("POST", "sc/snapshots/delete", self._delete_snapshot, SnapshotRef, callers=CALLERS)
        add("POST", "sc/capacity", self._capacity, callers=CALLERS)

    async def start(self) -> None:
        await self.volumes.recover()
        await self.snapshots.recover()

    async def stop(self) -> None:
        await self.snapshots.stop()
        await self.volumes.stop()
        await self.store.close()
        self.state.close()
        try:
            self.exporter.run_dir.rmdir()       # only when no export outlives this process
        except OSError:
            pass

    def health_details(self) -> dict[str, Any]:
        cap = self.volumes.capacity()
        records = self.state.volumes()
        details: dict[str, Any] = {
            "zone": self.zone, "volumes_path": str(self.volumes_path),
            "driver": self.driver.name, "nbd": self.exporter.transport,
            "total_gib": cap.total_gib, "free_gib": cap.free_gib,
            "allocated_gib": cap.allocated_gib, "max_gib": self.settings.sc_max_gib,
            "volumes": cap.volumes, "exports": sum(bool(v.endpoint) for v in records),
            "snapshots_pending": sum(s.state == "pending" for s in self.state.snapshots())}
        if self.volumes.lost_exports:
            details["lost_exports"] = list(self.volumes.lost_exports)
        return details

    # -- routes -----------------------------------------------------------------------------
    async def _create(self, msg: VolumeCreate, _caller: str) -> VolumeInfo:
        return await self.volumes.create(msg.volume_id, msg.size_gib, msg.snapshot_id)

    async def _describe(self, msg: VolumeIds, _caller: str) -> VolumeInfos:
        return VolumeInfos(self.volumes.describe(msg.volume_ids))

    async def _delete(self, msg: VolumeRef, _caller: str) -> VolumeInfo:
        return await self.volumes.delete(msg.volume_id)

    async def _export(self, msg: VolumeExportRequest, _caller: str) -> VolumeExport:
        return await self.volumes.export(msg.volume_id, msg.client)

    async def _unexport(self, msg: VolumeExportRequest, _caller: str) -> VolumeInfo:
        return await self.volumes.unexport(msg.volume_id, msg.client)

    async def _snapshot(self, msg: SnapshotCreate, _caller: str) -> SnapshotInfo:
        return await self.snapshots.create(msg.snapshot_id, msg.volume_id)

    async def _describe_snapshots(self, msg: SnapshotIds, _caller: str) -> SnapshotInfos:
        return SnapshotInfos(self.snapshots.describe(msg.snapshot_ids))

    async def _delete_snapshot(self, msg: SnapshotRef, _caller: str) -> SnapshotInfo:
        return await self.snapshots.delete(msg.snapshot_id)

    async def _capacity(self, _msg: None, _caller: str) -> StorageCapacity:
        return self.volumes.capacity()
