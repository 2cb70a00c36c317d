"""Volumes of one storage controller: create (empty or from a snapshot), delete, export.

``VolumeService`` keeps its records in ``ScState``, the bytes with a volume driver and the
exports with an export driver. Operations on one volume are serialised by a per-volume lock,
so an export, an unexport, a delete and a snapshot's point-in-time copy never interleave.

- A new empty volume is made at once ("available"). A volume from a snapshot is "creating"
  while its chunks are fetched from Walrus into a staging file, verified and handed to the
  driver (``import_raw``); "error" with a reason when that fails.
- Capacity: a volume fits when the sum of all volume sizes stays within SC_MAX_GIB (when set)
  and its size is within the free space of the volume file system (so it can be written in
  full); otherwise InsufficientVolumeCapacity and nothing is made.
- ``delete`` cancels a running restore, stops the export, unlinks the image, then forgets the
  volume; it is idempotent.
- ``point_in_time_copy`` (for snapshots) copies an exported volume through its export
  (``backup``: the export keeps serving) and an idle one with the driver's ``copy_raw``,
  under the volume's lock so no export starts during the copy.
- ``recover`` (at start-up) finishes interrupted deletes, restarts interrupted restores, and
  adopts exports whose daemon survived or starts them again; an export that cannot be
  re-established is dropped and listed in ``lost_exports``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import shutil
import time
from pathlib import Path

from eucalyptus.drivers.export.base import Endpoint, ExportDriver, ExportError
from eucalyptus.drivers.volume.base import VOLUME_ID, VolumeDriver
from eucalyptus.errors import InvalidParameterValue, ServiceUnavailable
from eucalyptus.sc import snapshot_transfer as transfer
from eucalyptus.sc.errors import (IncorrectState, InsufficientVolumeCapacity, SnapshotNotFound,
                                  VolumeInUse, VolumeNotFound)
from eucalyptus.sc.messages import StorageCapacity, VolumeExport, VolumeInfo
from eucalyptus.sc.object_store import ObjectMissing, ObjectStoreError, SnapshotObjects
from eucalyptus.sc.state import ScState, VolumeRecord

GIB = 1 << 30
MAX_VOLUME_GIB = 16384
SNAPSHOT_ID = re.compile(r"snap-[0-9a-f]{8,17}")
log = logging.getLogger("eucalyptus.sc")


class VolumeService:
    def __init__(self, state: ScState, driver: VolumeDriver, exporter: ExportDriver,
                 store: SnapshotObjects, staging: Path, max_gib: int = 0):
        self.state = state
        self.driver = driver
        self.exporter = exporter
        self.store = store
        self.staging = Path(staging)
        self.staging.mkdir(parents=True, exist_ok=True)
        self.max_gib = max_gib
        self.lost_exports: list[str] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self._restores: dict[str, asyncio.Task] = {}

    def lock(self, volume_id: str) -> asyncio.Lock:
        return self._locks.setdefault(volume_id, asyncio.Lock())

    def record(self, volume_id: str) -> VolumeRecord:
        record = self.state.volume(volume_id)
        if record is None:
            raise VolumeNotFound.of(volume_id)
        return record

    # -- capacity ---------------------------------------------------------------------------
    def capacity(self) -> StorageCapacity:
        usage = shutil.disk_usage(self.driver.root)
        volumes = self.state.volumes()
        return StorageCapacity(total_gib=usage.total // GIB, free_gib=usage.free // GIB,
                               allocated_gib=sum(v.size_gib for v in volumes),
                               volumes=len(volumes))

    def _check_fits(self, size_gib: int) -> None:
        cap = self.capacity()
        if self.max_gib and cap.allocated_gib + size_gib > self.max_gib:
            raise InsufficientVolumeCapacity(
                f"a volume of {size_gib} GiB exceeds the storage quota: "
                f"{cap.allocated_gib} of {self.max_gib} GiB are allocated")
        if size_gib > cap.free_gib:
            raise InsufficientVolumeCapacity(
                f"a volume of {size_gib} GiB does not fit: {cap.free_gib} GiB are free")

    # -- create / describe / delete ---------------------------------------------------------
    async def create(self, volume_id: str, size_gib: int, snapshot_id: str = "") -> VolumeInfo:
        if not VOLUME_ID.fullmatch(volume_id):
            raise InvalidParameterValue(f"Invalid id: \"{volume_id}\" (expecting \"vol-...\")")
        async with self.lock(volume_id):
            existing = self.state.volume(volume_id)
            if existing is not None:
                return existing.info()
            if snapshot_id:
                return await self._create_from(volume_id, size_gib, snapshot_id)
            if not 1 <= size_gib <= MAX_VOLUME_GIB:
                raise InvalidParameterValue(
                    f"Volume size {size_gib} GiB is not between 1 and {MAX_VOLUME_GIB}")
            self._check_fits(size_gib)
            await asyncio.to_thread(self.driver.create, volume_id, size_gib * GIB)
            record = VolumeRecord(volume_id, size_gib, "available")
            self.state.put_volume(record)
            return record.info()

    async def _create_from(self, volume_id: str, size_gib: int, snapshot_id: str) -> VolumeInfo:
        if not SNAPSHOT_ID.fullmatch(snapshot_id):
            raise SnapshotNotFound.of(snapshot_id)
        local = self.state.snapshot(snapshot_id)
        if local is not None and local.state != "completed":
            raise IncorrectState(f"Snapshot '{snapshot_id}' is {local.state}")
        try:
            manifest = await transfer.read_manifest(self.store, snapshot_id)
        except ObjectMissing:
            raise SnapshotNotFound.of(snapshot_id) from None
        except transfer.SnapshotCorrupt as exc:
            raise IncorrectState(str(exc)) from None
        except ObjectStoreError as exc:
            raise ServiceUnavailable(str(exc)) from None
        snap_gib = max(1, math.ceil(manifest["size"] / GIB))
        size_gib = size_gib or snap_gib
        if not snap_gib <= size_gib <= MAX_VOLUME_GIB:
            raise InvalidParameterValue(
                f"Volume size {size_gib} GiB is smaller than the snapshot ({snap_gib} GiB)"
                if size_gib < snap_gib else f"Volume size {size_gib} GiB is too large")
        self._check_fits(size_gib)
        record = VolumeRecord(volume_id, size_gib, "creating", snapshot_id=snapshot_id)
        self.state.put_volume(record)
        self._start_restore(record, manifest)
        return record.info()

    def _start_restore(self, record: VolumeRecord, manifest: dict) -> None:
        task = asyncio.create_task(self._restore(record, manifest))
        self._restores[record.volume_id] = task
        task.add_done_callback(lambda _t: self._restores.pop(record.volume_id, None))

    async def _restore(self, record: VolumeRecord, manifest: dict) -> None:
        staging = self.staging / f"{record.volume_id}.restore"
        staging.unlink(missing_ok=True)
        began = time.monotonic()
        try:
            await transfer.restore(self.store, manifest, staging, record.size_gib * GIB,
                                   lambda _p: None)
            fetched = time.monotonic()
            await asyncio.to_thread(self.driver.import_raw, record.volume_id, staging)
            log.info("restore of %s from %s: %d chunks fetched in %.2f s, import %.2f s",
                     record.volume_id, record.snapshot_id, len(manifest["chunks"]),
                     fetched - began, time.monotonic() - fetched)
        except asyncio.CancelledError:
            staging.unlink(missing_ok=True)
            raise
        except Exception as exc:              # the volume shows the failure; never raised
            log.warning("restore of %s from %s failed: %s", record.volume_id,
                        record.snapshot_id, exc)
            staging.unlink(missing_ok=True)
            await asyncio.to_thread(self.driver.delete, record.volume_id)
            record.state, record.reason = "error", f"restore failed: {exc}"[:500]
        else:
            record.state = "available"
        if self.state.volume(record.volume_id) is not None:
            self.state.put_volume(record)

    def describe(self, volume_ids: list[str]) -> list[VolumeInfo]:
        if not volume_ids:
            return [v.info() for v in self.state.volumes()]
        return [self.record(v).info() for v in dict.fromkeys(volume_ids)]

    async def delete(self, volume_id: str) -> VolumeInfo:
        task = self._restores.get(volume_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self.lock(volume_id):
            record = self.state.volume(volume_id)
            if record is None:
                return VolumeInfo(volume_id=volume_id, size_gib=0, state="deleted")
            record.state = "deleting"
            self.state.put_volume(record)
            await self._finish_delete(record)
            return record.info()

    async def _finish_delete(self, record: VolumeRecord) -> None:
        if record.endpoint:
            await self.exporter.close(Endpoint.from_dict(record.endpoint))
            record.endpoint, record.exported_to = {}, ""
            self.state.put_volume(record)
        await asyncio.to_thread(self.driver.delete, record.volume_id)
        (self.staging / f"{record.volume_id}.restore").unlink(missing_ok=True)
        self.state.drop_volume(record.volume_id)
        self._locks.pop(record.volume_id, None)
        record.state = "deleted"

    # -- exports ----------------------------------------------------------------------------
    async def export(self, volume_id: str, client: str) -> VolumeExport:
        if not client:
            raise InvalidParameterValue("an export needs a client (the instance id)")
        async with self.lock(volume_id):
            record = self.record(volume_id)
            if record.exported_to and record.exported_to != client:
                raise VolumeInUse(f"Volume {volume_id} is in use by {record.exported_to}")
            if record.state != "available":
                raise IncorrectState(f"Volume '{volume_id}' is {record.state}")
            endpoint = Endpoint.from_dict(record.endpoint) if record.endpoint else None
            if endpoint is None or not self.exporter.running(endpoint):
                if endpoint is not None:
                    await self.exporter.close(endpoint)
                endpoint = await self._open(volume_id)
                record.exported_to, record.endpoint = client, endpoint.to_dict()
                self.state.put_volume(record)
            return _export_of(endpoint)

    async def _open(self, volume_id: str) -> Endpoint:
        try:
            return await self.exporter.open(volume_id, self.driver.path(volume_id),
                                            self.driver.format)
        except ExportError as exc:
            raise ServiceUnavailable(str(exc)) from None

    async def unexport(self, volume_id: str, client: str) -> VolumeInfo:
        async with self.lock(volume_id):
            record = self.record(volume_id)
            if record.endpoint and (not client or client == record.exported_to):
                await self.exporter.close(Endpoint.from_dict(record.endpoint))
                record.exported_to, record.endpoint = "", {}
                self.state.put_volume(record)
            return record.info()

    async def point_in_time_copy(self, volume_id: str, dest: Path) -> None:
        """A raw copy of the volume as it is now, in the new file ``dest``."""
        async with self.lock(volume_id):
            record = self.record(volume_id)
            if record.state != "available":
                raise IncorrectState(f"Volume '{volume_id}' is {record.state}")
            endpoint = Endpoint.from_dict(record.endpoint) if record.endpoint else None
            if endpoint is not None and self.exporter.running(endpoint):
                await self.exporter.backup(endpoint, dest)
            else:
                await asyncio.to_thread(self.driver.copy_raw, volume_id, dest)

    # -- start-up ---------------------------------------------------------------------------
    async def recover(self) -> None:
        for record in self.state.volumes():
            try:
                await self._recover(record)
            except Exception as exc:
                log.error("could not recover volume %s: %s", record.volume_id, exc)

    async def _recover(self, record: VolumeRecord) -> None:
        if record.state == "deleting":
            await self._finish_delete(record)
        elif record.state == "creating":
            try:
                manifest = await transfer.read_manifest(self.store, record.snapshot_id)
            except (ObjectStoreError, transfer.SnapshotCorrupt) as exc:
                record.state, record.reason = "error", f"restore failed: {exc}"[:500]
                self.state.put_volume(record)
                return
            await asyncio.to_thread(self.driver.delete, record.volume_id)
            self._start_restore(record, manifest)
        elif record.endpoint:
            endpoint = Endpoint.from_dict(record.endpoint)
            if self.exporter.running(endpoint):
                return
            await self.exporter.close(endpoint)
            try:
                endpoint = await self.exporter.open(record.volume_id,
                                                    self.driver.path(record.volume_id),
                                                    self.driver.format)
                record.endpoint = endpoint.to_dict()
            except ExportError as exc:
                log.error("export of %s to %s is lost: %s", record.volume_id,
                          record.exported_to, exc)
                self.lost_exports.append(f"{record.volume_id}:{record.exported_to}")
                record.endpoint, record.exported_to = {}, ""
            self.state.put_volume(record)

    async def stop(self) -> None:
        """Cancel running restores (they start again at the next ``recover``); exports stay."""
        tasks = list(self._restores.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _export_of(endpoint: Endpoint) -> VolumeExport:
    return VolumeExport(volume_id=endpoint.volume_id, export_name=endpoint.export_name,
                        nbd_host=endpoint.host, nbd_port=endpoint.port,
                        nbd_socket=endpoint.socket)
