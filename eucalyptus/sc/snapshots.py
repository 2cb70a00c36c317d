"""Snapshots of one storage controller: a point-in-time copy streamed to Walrus.

``create`` records the snapshot ("pending", 0 %) and answers; a background task then takes
the point-in-time copy (``VolumeService.point_in_time_copy``: through the export's
``blockdev-backup`` when the volume is exported, so the guest keeps writing; otherwise a
sparse copy of the file, during which no export of that volume can start) into
``<staging>/<snap>.copying``, renames it ``<snap>.raw`` once whole, and uploads it in chunks
(``snapshot_transfer.upload``), moving ``progress`` as chunks go. It ends "completed" (100 %)
or "error" with a reason (and whatever reached Walrus removed). The staging copy is removed
either way.

After a restart (``recover``), a pending snapshot whose copy was whole is uploaded again from
it; one whose copy was not yet taken ends in "error" (its point in time is gone).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from eucalyptus.errors import InvalidParameterValue, ServiceUnavailable
from eucalyptus.sc import snapshot_transfer as transfer
from eucalyptus.sc.errors import IncorrectState, SnapshotNotFound
from eucalyptus.sc.messages import SnapshotInfo
from eucalyptus.sc.object_store import ObjectStoreError
from eucalyptus.sc.state import SnapshotRecord
from eucalyptus.sc.volumes import SNAPSHOT_ID, VolumeService

log = logging.getLogger("eucalyptus.sc")


class SnapshotService:
    def __init__(self, volumes: VolumeService, chunk_size: int, concurrency: int = 4):
        self.volumes = volumes
        self.state = volumes.state
        self.store = volumes.store
        self.staging: Path = volumes.staging
        self.chunk_size = chunk_size
        self.concurrency = concurrency
        self._tasks: dict[str, asyncio.Task] = {}

    def _files(self, snapshot_id: str) -> tuple[Path, Path]:
        return (self.staging / f"{snapshot_id}.copying", self.staging / f"{snapshot_id}.raw")

    async def create(self, snapshot_id: str, volume_id: str) -> SnapshotInfo:
        if not SNAPSHOT_ID.fullmatch(snapshot_id):
            raise InvalidParameterValue(f"Invalid id: \"{snapshot_id}\" (expecting \"snap-...\")")
        existing = self.state.snapshot(snapshot_id)
        if existing is not None:
            return existing.info()
        volume = self.volumes.record(volume_id)
        if volume.state != "available":
            raise IncorrectState(f"Volume '{volume_id}' is {volume.state}")
        record = SnapshotRecord(snapshot_id, volume_id, "pending", 0, volume.size_gib)
        self.state.put_snapshot(record)
        self._start(record, copied=False)
        return record.info()

    def _start(self, record: SnapshotRecord, copied: bool) -> None:
        task = asyncio.create_task(self._take(record, copied))
        self._tasks[record.snapshot_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(record.snapshot_id, None))

    def _progress(self, record: SnapshotRecord, percent: int) -> None:
        if percent != record.progress and record.state == "pending":
            record.progress = percent
            if self.state.snapshot(record.snapshot_id) is not None:
                self.state.put_snapshot(record)

    async def _take(self, record: SnapshotRecord, copied: bool) -> None:
        copying, raw = self._files(record.snapshot_id)
        began = time.monotonic()
        try:
            if not copied:
                copying.unlink(missing_ok=True)
                await self.volumes.point_in_time_copy(record.volume_id, copying)
                copying.rename(raw)
            copied_at = time.monotonic()
            manifest = await transfer.upload(self.store, record.snapshot_id, record.volume_id,
                                             raw, self.chunk_size,
                                             lambda p: self._progress(record, p),
                                             self.concurrency)
            log.info("snapshot %s of %s: copy took %.2f s, upload of %d chunks %.2f s",
                     record.snapshot_id, record.volume_id, copied_at - began,
                     len(manifest["chunks"]), time.monotonic() - copied_at)
        except asyncio.CancelledError:
            copying.unlink(missing_ok=True)
            raise
        except Exception as exc:                  # the snapshot shows the failure
            log.warning("snapshot %s of %s failed: %s", record.snapshot_id, record.volume_id,
                        exc)
            record.state, record.reason = "error", f"{exc}"[:500]
            with contextlib.suppress(Exception):
                await transfer.delete(self.store, record.snapshot_id)
        else:
            record.state, record.progress = "completed", 100
        copying.unlink(missing_ok=True)
        raw.unlink(missing_ok=True)
        if self.state.snapshot(record.snapshot_id) is not None:
            self.state.put_snapshot(record)

    def describe(self, snapshot_ids: list[str]) -> list[SnapshotInfo]:
        if not snapshot_ids:
            return [s.info() for s in self.state.snapshots()]
        out = []
        for snapshot_id in dict.fromkeys(snapshot_ids):
            record = self.state.snapshot(snapshot_id)
            if record is None:
                raise SnapshotNotFound.of(snapshot_id)
            out.append(record.info())
        return out

    async def delete(self, snapshot_id: str) -> SnapshotInfo:
        """Stop a pending upload and remove the snapshot from Walrus (also one this SC did
        not take: snapshots of every zone share the bucket); idempotent."""
        if not SNAPSHOT_ID.fullmatch(snapshot_id):
            raise InvalidParameterValue(f"Invalid id: \"{snapshot_id}\" (expecting \"snap-...\")")
        task = self._tasks.get(snapshot_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        record = self.state.snapshot(snapshot_id)
        try:
            await transfer.delete(self.store, snapshot_id)
        except ObjectStoreError as exc:
            raise ServiceUnavailable(str(exc)) from None
        for path in self._files(snapshot_id):
            path.unlink(missing_ok=True)
        self.state.drop_snapshot(snapshot_id)
        info = record.info() if record else SnapshotInfo(snapshot_id, "", "deleted", 0, 0)
        info.state = "deleted"
        return info

    async def recover(self) -> None:
        for record in self.state.snapshots():
            if record.state != "pending":
                continue
            copying, raw = self._files(record.snapshot_id)
            copying.unlink(missing_ok=True)
            if raw.exists():
                self._start(record, copied=True)
            else:
                record.state = "error"
                record.reason = "the storage controller restarted before the copy was taken"
                self.state.put_snapshot(record)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
