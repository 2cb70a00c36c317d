"""The node's instances: one directory each under INSTANCE_PATH, a state machine, a watcher.

Each instance directory holds ``instance.json`` (the node's record, an ``InstanceInfo``),
``spec.json`` (the hypervisor ``InstanceSpec``), ``overlay.qcow2`` when it boots a disk image,
and the driver's runtime files (pidfile, QMP socket, console log). The directories are the
node's only state: ``recover()`` rebuilds everything from them after a restart, adopting
guests that still run and reporting those that ended meanwhile as stopped.

Contract:
- ``run`` refuses work beyond the node's capacity (InsufficientInstanceCapacity) and unknown
  files (InvalidParameterValue); a launch that fails leaves no process, tap or directory, and
  the instance is reported terminated with the reason. Running the same id again while it
  exists returns its record (idempotent).
- ``terminate`` is idempotent; it destroys the guest, deletes its tap and its directory.
- ``check()`` (run every ``poll`` seconds by ``watch``) notices guests that powered off or
  died and reports them stopped; terminated records are forgotten after ``keep_terminated``.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from eucalyptus import errors
from eucalyptus.drivers.hypervisor.base import (DomainState, Handle, HypervisorDriver,
                                                HypervisorError, InstanceSpec)
from eucalyptus.drivers.network.uplink import ensure_node_bridge
from eucalyptus.nc import root_volume, states
from eucalyptus.nc.messages import ConsoleOutput, InstanceInfo, RunInstance
from eucalyptus.nc.resources import Capacity, Usage
from eucalyptus.rpc.messages import from_wire, to_wire

log = logging.getLogger("eucalyptus.nc.instances")
INSTANCE_ID = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")
RECORD, SPEC, OVERLAY = "instance.json", "spec.json", "overlay.qcow2"


def tap_name(instance_id: str) -> str:
    """A tap name (at most 15 characters) derived from the instance id."""
    return "vn" + instance_id[2:][-13:]


def insufficient_capacity(message: str) -> errors.ServiceError:
    return errors.ServerError("InsufficientInstanceCapacity", message)


def not_found(instance_id: str) -> errors.ServiceError:
    return errors.NotFound("InvalidInstanceID.NotFound",
                           f"The instance ID '{instance_id}' does not exist")


class InstanceManager:
    def __init__(self, instance_path: Path, driver: HypervisorDriver, capacity: Capacity,
                 network=None, keep_terminated: float = 600.0, poll: float = 1.0,
                 namespace: str = "", uplink: str = ""):
        self.root = Path(instance_path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.driver = driver
        self.capacity = capacity
        self.network = network            # a drivers.network NetworkBackend, for taps
        self.namespace = namespace        # VNET_NAMESPACE: taps go here, not in nic.netns
        self.uplink = uplink              # VNET_PRIVINTERFACE, enslaved to the bridge
        self.keep_terminated = keep_terminated
        self.poll = poll
        self.records: dict[str, InstanceInfo] = {}
        self.handles: dict[str, Handle] = {}
        self._lock = asyncio.Lock()

    # -- persistence --------------------------------------------------------------------------
    def _dir(self, instance_id: str) -> Path:
        return self.root / instance_id

    def _save(self, record: InstanceInfo) -> None:
        d = self._dir(record.instance_id)
        if record.state == states.TERMINATED or not d.exists():
            return
        tmp = d / (RECORD + ".tmp")
        tmp.write_text(json.dumps(to_wire(record)))
        os.replace(tmp, d / RECORD)

    async def recover(self) -> None:
        """Rebuild the records from the instance directories (see the module docstring)."""
        for d in sorted(self.root.iterdir()):
            if not INSTANCE_ID.fullmatch(d.name) or not (d / RECORD).exists():
                continue
            try:
                record = from_wire(InstanceInfo, json.loads((d / RECORD).read_text()))
            except (ValueError, errors.ServiceError):
                log.warning("ignoring unreadable %s", d / RECORD)
                continue
            self.records[record.instance_id] = record
            if record.state in (states.PENDING, states.RUNNING):
                handle = await self.driver.adopt(d)
                if handle is not None:
                    self.handles[record.instance_id] = handle
                    states.advance(record, states.RUNNING)
                    log.info("adopted %s (pid %d)", record.instance_id, handle.pid)
                elif record.state == states.PENDING:
                    await self._discard(record, "Server.InternalError: node restarted "
                                                "during launch")
                    continue
                else:
                    states.advance(record, states.STOPPED, states.GUEST_SHUTDOWN)
                self._save(record)
            elif record.state == states.SHUTTING_DOWN:
                await self._finish_termination(record)

    # -- resources ----------------------------------------------------------------------------
    def usage(self) -> list[Usage]:
        return [Usage(r.vcpus, r.memory_mib, r.disk_gib) for r in self.records.values()
                if r.state != states.TERMINATED]

    def _check_capacity(self, msg: RunInstance) -> None:
        used = self.usage()
        free = (self.capacity.cores - sum(u.cores for u in used),
                self.capacity.memory_mib - sum(u.memory_mib for u in used),
                self.capacity.disk_gib - sum(u.disk_gib for u in used))
        for need, have, what in ((msg.vcpus, free[0], "cores"),
                                 (msg.memory_mib, free[1], "MiB of memory"),
                                 (msg.disk_gib, free[2], "GiB of disk")):
            if need > have:
                raise insufficient_capacity(
                    f"node has {max(have, 0)} {what} free, {msg.instance_id} needs {need}")

    # -- operations ---------------------------------------------------------------------------
    def _validate(self, msg: RunInstance) -> None:
        if not INSTANCE_ID.fullmatch(msg.instance_id):
            raise errors.InvalidParameterValue(f"bad instance id {msg.instance_id!r}")
        if msg.root_volume is not None:
            root_volume.check(msg.root_volume)
            if msg.disk_image:
                raise errors.InvalidParameterValue("give a root volume or a disk image, "
                                                   "not both")
        elif bool(msg.kernel) == bool(msg.disk_image):
            raise errors.InvalidParameterValue("give either a kernel or a disk image")
        for name in ("kernel", "ramdisk", "disk_image"):
            path = getattr(msg, name)
            if path and not Path(path).is_file():
                raise errors.InvalidParameterValue(f"{name} {path} is not a file on this node")
        if msg.vcpus < 1 or msg.memory_mib < 16 or msg.disk_gib < 0:
            raise errors.InvalidParameterValue("vcpus >= 1, memory_mib >= 16, disk_gib >= 0")
        if msg.nic is not None and (not msg.nic.netns or not msg.nic.bridge):
            raise errors.InvalidParameterValue("a network card needs netns and bridge")

    async def run(self, msg: RunInstance) -> InstanceInfo:
        self._validate(msg)
        async with self._lock:
            existing = self.records.get(msg.instance_id)
            if existing is not None and existing.state != states.TERMINATED:
                return existing
            self._check_capacity(msg)
            now = time.time()
            nic = msg.nic
            record = InstanceInfo(
                instance_id=msg.instance_id, state=states.PENDING, launched_at=now,
                changed_at=now, vcpus=msg.vcpus, memory_mib=msg.memory_mib,
                disk_gib=msg.disk_gib, mac=nic.mac if nic else "",
                netns=(self.namespace or nic.netns) if nic else "",
                tap=(nic.tap or tap_name(msg.instance_id)) if nic else "",
                reservation_id=msg.reservation_id, owner_id=msg.owner_id,
                instance_type=msg.instance_type)
            self.records[msg.instance_id] = record
            d = self._dir(msg.instance_id)
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            self._save(record)
        try:
            spec = await self._prepare(msg, record, d)
            self.handles[record.instance_id] = await self.driver.spawn(spec)
        except Exception as exc:     # launch failed: nothing may stay behind
            reason = str(exc) if isinstance(exc, (HypervisorError, errors.ServiceError,
                                                  OSError)) else repr(exc)
            await self._discard(record, f"Server.InternalError: {reason}")
            if isinstance(exc, errors.ServiceError):
                raise
            raise errors.InternalError(f"launch of {msg.instance_id} failed: {reason}") from None
        states.advance(record, states.RUNNING)
        self._save(record)
        return record

    async def _prepare(self, msg: RunInstance, record: InstanceInfo, d: Path) -> InstanceSpec:
        disk = None
        if msg.disk_image:
            disk = d / OVERLAY
            await asyncio.to_thread(subprocess.run, [
                "qemu-img", "create", "-q", "-f", "qcow2", "-F", msg.disk_format,
                "-b", str(Path(msg.disk_image).resolve()), str(disk)], check=True,
                capture_output=True)
        if record.tap:
            if self.network is None:
                raise errors.InvalidParameterValue("this node has no network backend")
            await asyncio.to_thread(ensure_node_bridge, self.network, record.netns,
                                    msg.nic.bridge, msg.nic.vlan, self.uplink)
            await asyncio.to_thread(self.network.add_tap, record.netns, record.tap,
                                    msg.nic.bridge)
        spec = InstanceSpec(
            instance_id=msg.instance_id, instance_dir=d, vcpus=msg.vcpus,
            memory_mib=msg.memory_mib, kernel=msg.kernel or None, ramdisk=msg.ramdisk or None,
            cmdline=msg.cmdline, disk=disk, disk_format="qcow2",
            mac=record.mac or None, tap=record.tap or None, netns=record.netns or None,
            extra=root_volume.spec_extra(msg.root_volume) if msg.root_volume else {})
        (d / SPEC).write_text(json.dumps(spec.to_json()))
        return spec

    async def _release(self, record: InstanceInfo) -> None:
        """Destroy the guest, delete the tap and the directory."""
        handle = self.handles.pop(record.instance_id, None)
        d = self._dir(record.instance_id)
        if handle is None and d.exists():
            handle = await self.driver.adopt(d)
        if handle is not None:
            await root_volume.power_off(self.driver, handle, d)
            await self.driver.destroy(handle)
        if record.tap and record.netns and self.network is not None:
            try:
                await asyncio.to_thread(self.network.delete_link, record.netns, record.tap)
            except Exception as exc:        # the namespace may be gone already
                log.warning("deleting tap %s of %s: %s", record.tap, record.instance_id, exc)
        shutil.rmtree(d, ignore_errors=True)

    async def _discard(self, record: InstanceInfo, reason: str) -> None:
        await self._release(record)
        record.state = states.TERMINATED
        record.reason = reason
        record.changed_at = time.time()

    async def _finish_termination(self, record: InstanceInfo) -> None:
        await self._release(record)
        states.advance(record, states.TERMINATED)

    def get(self, instance_id: str) -> InstanceInfo:
        record = self.records.get(instance_id)
        if record is None:
            raise not_found(instance_id)
        return record

    async def terminate(self, instance_id: str) -> InstanceInfo:
        record = self.get(instance_id)
        if record.state in (states.TERMINATED, states.SHUTTING_DOWN):
            return record
        if record.state == states.PENDING:
            raise states.IncorrectInstanceState(f"{instance_id} is still launching")
        states.advance(record, states.SHUTTING_DOWN, states.USER_TERMINATE)
        self._save(record)
        await self._finish_termination(record)
        return record

    async def reboot(self, instance_id: str) -> InstanceInfo:
        record = self.get(instance_id)
        handle = self.handles.get(instance_id)
        if record.state != states.RUNNING or handle is None:
            raise states.IncorrectInstanceState(
                f"instance {instance_id} is {record.state}; only running instances reboot")
        try:
            await self.driver.reboot(handle)
        except HypervisorError as exc:
            raise errors.InternalError(str(exc)) from None
        return record

    def describe(self, instance_ids: list[str] | None = None) -> list[InstanceInfo]:
        if instance_ids:
            return [self.get(i) for i in instance_ids]
        return sorted(self.records.values(), key=lambda r: r.launched_at)

    def console(self, instance_id: str, limit: int = 64 * 1024) -> ConsoleOutput:
        self.get(instance_id)
        d = self._dir(instance_id)
        handle = self.handles.get(instance_id) or Handle(instance_id, d, 0)
        data = self.driver.console_output(handle, limit) if d.exists() else b""
        return ConsoleOutput(instance_id, base64.b64encode(data).decode(), time.time())

    # -- watching -----------------------------------------------------------------------------
    async def check(self) -> None:
        """One pass: guests that ended become stopped; old terminated records go."""
        for instance_id, handle in list(self.handles.items()):
            record = self.records.get(instance_id)
            if record is None or record.state != states.RUNNING:
                continue
            if await self.driver.state(handle) == DomainState.SHUTOFF:
                self.handles.pop(instance_id, None)
                states.advance(record, states.STOPPED, states.GUEST_SHUTDOWN)
                await self.driver.destroy(handle)        # clears its runtime files
                self._save(record)
                log.info("%s powered off", instance_id)
        horizon = time.time() - self.keep_terminated
        for instance_id, record in list(self.records.items()):
            if record.state == states.TERMINATED and record.changed_at < horizon:
                del self.records[instance_id]

    async def watch(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("instance check failed")
            await asyncio.sleep(self.poll)
