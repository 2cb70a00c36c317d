"""A test double of the hypervisor driver: it boots nothing.

Each "guest" is a ``fake-guest.json`` file in its instance directory holding its state, so the
double honours the driver contract that matters to callers (spawn/adopt/state/powerdown/
reboot/destroy, idempotent destroy, state surviving a node restart) at no CPU cost. Used by API
tests and benchmarks through NC_DRIVER="tests.fakes.hypervisor:FakeDriver".
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from eucalyptus.drivers.hypervisor.base import (Capabilities, DiskAttachment, DomainState,
                                                Handle, HypervisorDriver, HypervisorError,
                                                InstanceSpec)

STATE_FILE = "fake-guest.json"


class FakeDriver(HypervisorDriver):
    name = "fake"
    capabilities = Capabilities(boots_guests=False, survives_restart=True, disk_hotplug=True)
    hotplug_slots = 2                # as many volumes as QemuDriver's default root ports

    def __init__(self) -> None:
        self.fail_next_spawn = ""        # set to a message to make the next spawn fail

    def _read(self, d: Path) -> dict | None:
        try:
            return json.loads((d / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None

    def _write(self, d: Path, data: dict) -> None:
        (d / STATE_FILE).write_text(json.dumps(data))

    def _log(self, d: Path, line: str) -> None:
        with open(d / "console.log", "a") as f:
            f.write(line + "\n")

    async def spawn(self, spec: InstanceSpec) -> Handle:
        if self.fail_next_spawn:
            message, self.fail_next_spawn = self.fail_next_spawn, ""
            raise HypervisorError(message)
        spec.instance_dir.mkdir(parents=True, exist_ok=True)
        self._write(spec.instance_dir, {"state": "running", "boots": 1})
        self._log(spec.instance_dir, f"fake guest {spec.instance_id} booted")
        return Handle(spec.instance_id, spec.instance_dir, os.getpid())

    async def adopt(self, instance_dir: Path) -> Handle | None:
        data = self._read(instance_dir)
        if data is None or data["state"] != "running":
            return None
        return Handle(instance_dir.name, instance_dir, os.getpid())

    async def state(self, handle: Handle) -> DomainState:
        data = self._read(handle.instance_dir)
        return DomainState.RUNNING if data and data["state"] == "running" \
            else DomainState.SHUTOFF

    async def powerdown(self, handle: Handle, wait: float = 0.0) -> bool:
        data = self._read(handle.instance_dir)
        if data is None:
            raise HypervisorError(f"{handle.instance_id} is not running")
        self._write(handle.instance_dir, {**data, "state": "shutoff"})
        return True

    async def reboot(self, handle: Handle) -> None:
        data = self._read(handle.instance_dir)
        if data is None or data["state"] != "running":
            raise HypervisorError(f"{handle.instance_id} is not running")
        self._write(handle.instance_dir, {**data, "boots": data["boots"] + 1})
        self._log(handle.instance_dir, f"fake guest {handle.instance_id} rebooted")

    async def destroy(self, handle: Handle) -> None:
        try:
            (handle.instance_dir / STATE_FILE).unlink()
        except FileNotFoundError:
            pass

    def console_output(self, handle: Handle, limit: int = 64 * 1024) -> bytes:
        try:
            return (handle.instance_dir / "console.log").read_bytes()[-limit:]
        except FileNotFoundError:
            return b""

    async def attach_disk(self, handle: Handle, disk: DiskAttachment) -> None:
        """Record the disk as the guest's (by serial), within the hot-plug slots."""
        data = self._read(handle.instance_dir)
        if data is None or data["state"] != "running":
            raise HypervisorError(f"{handle.instance_id} is not running")
        disks = data.get("disks", {})
        if disk.serial in disks:
            raise HypervisorError(f"{disk.serial} is already attached to {handle.instance_id}")
        if len(disks) >= self.hotplug_slots:
            raise HypervisorError(f"{handle.instance_id} has no free hot-plug slot")
        disks[disk.serial] = {"nbd_socket": str(disk.nbd_socket or ""),
                              "nbd_host": disk.nbd_host or "", "nbd_port": disk.nbd_port or 0,
                              "export": disk.nbd_export or "", "path": str(disk.path or "")}
        self._write(handle.instance_dir, {**data, "disks": disks})
        self._log(handle.instance_dir, f"fake guest {handle.instance_id} sees disk {disk.serial}")

    async def detach_disk(self, handle: Handle, serial: str, timeout: float = 10.0) -> None:
        data = self._read(handle.instance_dir)
        disks = (data or {}).get("disks", {})
        if serial not in disks:
            raise HypervisorError(f"{serial} is not attached to {handle.instance_id}")
        del disks[serial]
        self._write(handle.instance_dir, {**data, "disks": disks})
