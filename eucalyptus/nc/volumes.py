"""The node's EBS volumes: hot-plug of NBD exports into running guests.

Internal routes (callers cc, clc, admin), also forwarded unchanged by the cluster controller
as ``cluster/volumes/...``:

    POST /internal/node/volumes/attach    VolumeAttach  -> AttachedVolume
    POST /internal/node/volumes/detach    VolumeDetach  -> AttachedVolume
    POST /internal/node/volumes/describe  AttachedQuery -> AttachedVolumes

Contract:
- ``attach`` plugs the storage controller's NBD export (``nbd_socket``, or ``nbd_host`` and
  ``nbd_port``, with ``export_name``) into the running guest as a virtio disk whose serial is
  the volume id (the guest finds it in ``/sys/block/*/serial``; ``device`` is only recorded).
  Attaching a volume that is already attached to the instance answers its record
  (idempotent). Errors: InvalidInstanceID.NotFound, IncorrectInstanceState (not running),
  InvalidParameterValue (the device name is taken on the instance),
  AttachmentLimitExceeded (no free hot-plug slot), InternalError (the hypervisor refused).
- ``detach`` unplugs it, waiting for the guest to release the disk; ``force`` drops the
  node's record even when the guest does not let go. Detaching a volume that is not attached
  answers state "detached" (idempotent).
- The attachments of an instance are kept in ``volumes.json`` in its directory, so they
  survive a node restart and go with the directory when the instance terminates (its QEMU,
  and with it every NBD connection, ends).
"""
from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from eucalyptus import errors
from eucalyptus.drivers.hypervisor.base import DiskAttachment, HypervisorError
from eucalyptus.nc import states

VOLUMES = "volumes.json"


@dataclass
class VolumeAttach:
    instance_id: str
    volume_id: str
    device: str = ""
    export_name: str = ""
    nbd_host: str = ""
    nbd_port: int = 0
    nbd_socket: str = ""


@dataclass
class VolumeDetach:
    instance_id: str
    volume_id: str
    force: bool = False


@dataclass
class AttachedVolume:
    """One volume on one instance: ``state`` is "attached" or "detached"."""
    instance_id: str
    volume_id: str
    device: str = ""
    state: str = "attached"
    reason: str = ""


@dataclass
class AttachedQuery:
    """Instances whose volumes to list; empty means every instance of the node."""
    instance_ids: list[str] = field(default_factory=list)


@dataclass
class AttachedVolumes:
    volumes: list[AttachedVolume] = field(default_factory=list)


class NodeVolumes:
    """The volume routes of one node, on its ``nc.instances.InstanceManager``."""

    def __init__(self, manager):
        self.manager = manager
        self._locks: dict[str, asyncio.Lock] = {}

    # -- the record in the instance directory -------------------------------------------------
    def _path(self, instance_id: str) -> Path:
        return self.manager.root / instance_id / VOLUMES

    def _read(self, instance_id: str) -> dict[str, dict]:
        try:
            return json.loads(self._path(instance_id).read_text())
        except (OSError, ValueError):
            return {}

    def _write(self, instance_id: str, volumes: dict[str, dict]) -> None:
        path = self._path(instance_id)
        tmp = path.with_name(VOLUMES + ".tmp")
        tmp.write_text(json.dumps(volumes))
        os.replace(tmp, path)

    def _running(self, instance_id: str):
        record = self.manager.get(instance_id)          # InvalidInstanceID.NotFound
        handle = self.manager.handles.get(instance_id)
        if record.state != states.RUNNING or handle is None:
            raise states.IncorrectInstanceState(
                f"instance {instance_id} is {record.state}; volumes attach to running "
                "instances only")
        return handle

    # -- operations ---------------------------------------------------------------------------
    async def attach(self, msg: VolumeAttach) -> AttachedVolume:
        try:
            disk = DiskAttachment(
                serial=msg.volume_id, nbd_host=msg.nbd_host or None,
                nbd_port=msg.nbd_port or None,
                nbd_socket=Path(msg.nbd_socket) if msg.nbd_socket else None,
                nbd_export=msg.export_name or None)
        except ValueError as exc:
            raise errors.InvalidParameterValue(f"bad volume export: {exc}") from None
        async with self._locks.setdefault(msg.instance_id, asyncio.Lock()):
            handle = self._running(msg.instance_id)
            volumes = self._read(msg.instance_id)
            if msg.volume_id in volumes:
                return AttachedVolume(msg.instance_id, msg.volume_id,
                                      volumes[msg.volume_id].get("device", ""))
            if msg.device and any(v.get("device") == msg.device for v in volumes.values()):
                raise errors.InvalidParameterValue(
                    f"Attachment point {msg.device} is already in use on {msg.instance_id}")
            try:
                await self.manager.driver.attach_disk(handle, disk)
            except HypervisorError as exc:
                if "slot" in str(exc):
                    raise errors.ClientError("AttachmentLimitExceeded",
                                             f"{msg.instance_id} has no room for another "
                                             "volume") from None
                raise errors.InternalError(f"attaching {msg.volume_id}: {exc}") from None
            volumes[msg.volume_id] = {"device": msg.device, "export": msg.export_name}
            self._write(msg.instance_id, volumes)
        return AttachedVolume(msg.instance_id, msg.volume_id, msg.device)

    async def detach(self, msg: VolumeDetach) -> AttachedVolume:
        async with self._locks.setdefault(msg.instance_id, asyncio.Lock()):
            record = self.manager.get(msg.instance_id)
            volumes = self._read(msg.instance_id)
            entry = volumes.get(msg.volume_id)
            if entry is None:
                return AttachedVolume(msg.instance_id, msg.volume_id, state="detached")
            handle = self.manager.handles.get(msg.instance_id)
            reason = ""
            if handle is not None and record.state == states.RUNNING:
                try:
                    await self.manager.driver.detach_disk(handle, msg.volume_id,
                                                          timeout=3.0 if msg.force else 10.0)
                except HypervisorError as exc:
                    if not msg.force:
                        raise errors.ClientError(
                            "VolumeInUse", f"the guest of {msg.instance_id} did not release "
                            f"{msg.volume_id}: {exc}") from None
                    reason = f"forced: {exc}"
            del volumes[msg.volume_id]
            if self._path(msg.instance_id).parent.exists():
                self._write(msg.instance_id, volumes)
        return AttachedVolume(msg.instance_id, msg.volume_id, entry.get("device", ""),
                              "detached", reason)

    def describe(self, query: AttachedQuery) -> AttachedVolumes:
        ids = query.instance_ids or list(self.manager.records)
        out = []
        for iid in ids:
            for vid, entry in sorted(self._read(iid).items()):
                out.append(AttachedVolume(iid, vid, entry.get("device", "")))
        return AttachedVolumes(out)

    def add_routes(self, routes, callers: set[str]) -> None:
        async def attach(msg: VolumeAttach, _caller: str) -> AttachedVolume:
            return await self.attach(msg)

        async def detach(msg: VolumeDetach, _caller: str) -> AttachedVolume:
            return await self.detach(msg)

        async def describe(msg: AttachedQuery, _caller: str) -> AttachedVolumes:
            return self.describe(msg)

        routes.add("POST", "node/volumes/attach", attach, VolumeAttach, callers=callers)
        routes.add("POST", "node/volumes/detach", detach, VolumeDetach, callers=callers)
        routes.add("POST", "node/volumes/describe", describe, AttachedQuery, callers=callers)
