"""QEMU as the hypervisor driver: argv built as data, control over QMP.

``qemu_argv(spec, accel)`` is a pure function from an ``InstanceSpec`` to the command line
(run with the instance directory as working directory: the unix sockets are given relative
to it, so long directory paths never exceed a socket address). Files in the instance
directory: ``qemu.pid``, ``qmp.sock``, ``console.sock`` (attachable serial console),
``console.log`` (everything the serial console printed, appended across restarts),
``disks.json`` (hot-plugged disks by serial).

QEMU runs with ``-daemonize``, so it outlives the node controller; a guest that powers off
ends its QEMU process, which ``state`` reports as SHUTOFF. The process of a directory is the
PID in its pidfile, and only while that process's command line names this directory's
pidfile: a recycled PID is never signalled.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

from eucalyptus.drivers.hypervisor.base import (Capabilities, DiskAttachment, DomainState,
                                                Handle, HypervisorDriver, HypervisorError,
                                                InstanceSpec)
from eucalyptus.drivers.hypervisor.qmp import QmpClient, QmpCommandError, QmpError

QEMU_BINARY = "qemu-system-x86_64"
PIDFILE, QMP_SOCKET, CONSOLE_SOCKET, CONSOLE_LOG, DISKS = (
    "qemu.pid", "qmp.sock", "console.sock", "console.log", "disks.json")
RUNTIME_FILES = (PIDFILE, QMP_SOCKET, CONSOLE_SOCKET, DISKS)


def _opt(value: object) -> str:
    """A value inside a QEMU ``key=value,...`` option (commas doubled)."""
    return str(value).replace(",", ",,")


def qemu_argv(spec: InstanceSpec, accel: str = "tcg", binary: str = QEMU_BINARY) -> list[str]:
    """The command that starts ``spec``'s guest (prefixed by ``ip netns exec`` when needed)."""
    if accel not in ("kvm", "tcg"):
        raise ValueError(f"accelerator must be kvm or tcg, not {accel!r}")
    d = spec.instance_dir
    argv = ["ip", "netns", "exec", spec.netns] if spec.netns else []
    argv += [binary, "-name", f"guest={_opt(spec.instance_id)}", "-nodefaults",
             "-no-user-config", "-display", "none", "-machine", "q35", "-accel", accel]
    if accel == "kvm":
        argv += ["-cpu", "host"]
    argv += ["-smp", str(spec.vcpus), "-m", str(spec.memory_mib)]
    if spec.kernel is not None:
        argv += ["-kernel", str(spec.kernel)]
        if spec.ramdisk is not None:
            argv += ["-initrd", str(spec.ramdisk)]
        if spec.cmdline:
            argv += ["-append", spec.cmdline]
    elif spec.disk is not None:
        argv += ["-drive", f"file={_opt(spec.disk)},if=none,id=root,format={spec.disk_format}",
                 "-device", "virtio-blk-pci,drive=root,serial=root,bootindex=0"]
    argv += root_volume_argv(spec)
    argv += ["-device", "virtio-rng-pci"]
    if spec.tap:
        mac = f",mac={spec.mac}" if spec.mac else ""
        argv += ["-netdev", f"tap,id=net0,ifname={_opt(spec.tap)},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev=net0{mac},romfile="]
    for i in range(1, spec.hotplug_slots + 1):
        argv += ["-device", f"pcie-root-port,id=hp{i},bus=pcie.0,chassis={i},slot={i}"]
    argv += ["-chardev", f"socket,id=console0,path={CONSOLE_SOCKET},server=on,wait=off,"
                         f"logfile={_opt(d / CONSOLE_LOG)},logappend=on",
             "-serial", "chardev:console0",
             "-qmp", f"unix:{QMP_SOCKET},server=on,wait=off",
             "-pidfile", str(d / PIDFILE), "-daemonize"]
    return argv


def root_volume_argv(spec: InstanceSpec) -> list[str]:
    """The NBD root disk of an EBS-backed spec (``extra["root_volume"]``), serial = volume id;
    boot index 0 unless a kernel boots (its loader holds index 0)."""
    root = spec.extra.get("root_volume")
    if not root:
        return []
    disk = DiskAttachment(serial=root["volume_id"], nbd_host=root.get("nbd_host") or None,
                          nbd_port=root.get("nbd_port") or None,
                          nbd_socket=Path(root["nbd_socket"]) if root.get("nbd_socket") else None,
                          nbd_export=root.get("export_name") or None)
    return ["-blockdev", json.dumps(blockdev_args(disk)),
            "-device", f"virtio-blk-pci,id=dev-{disk.serial},drive=disk-{disk.serial},"
                       f"serial={disk.serial}" + (",bootindex=0" if spec.kernel is None else "")]


def blockdev_args(disk: DiskAttachment) -> dict:
    """QMP ``blockdev-add`` arguments for ``disk`` (node name ``disk-<serial>``)."""
    node = f"disk-{disk.serial}"
    if disk.path is not None:
        return {"driver": disk.format, "node-name": node, "read-only": disk.read_only,
                "file": {"driver": "file", "filename": str(disk.path)}}
    server = ({"type": "unix", "path": str(disk.nbd_socket)} if disk.nbd_socket else
              {"type": "inet", "host": disk.nbd_host, "port": str(disk.nbd_port or 10809)})
    args = {"driver": "nbd", "node-name": node, "server": server, "read-only": disk.read_only}
    if disk.nbd_export:
        args["export"] = disk.nbd_export
    return args


def device_args(disk: DiskAttachment, bus: str) -> dict:
    """QMP ``device_add`` arguments plugging ``disk`` into root port ``bus``."""
    return {"driver": "virtio-blk-pci", "id": f"dev-{disk.serial}",
            "drive": f"disk-{disk.serial}", "bus": bus, "serial": disk.serial}


def process_alive(pid: int, instance_dir: Path) -> bool:
    """Whether ``pid`` runs (not a zombie) and is the QEMU of ``instance_dir``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False
    return os.fsencode(instance_dir / PIDFILE) in cmdline


def read_pid(instance_dir: Path) -> int | None:
    try:
        return int((instance_dir / PIDFILE).read_text().strip())
    except (OSError, ValueError):
        return None


class QemuDriver(HypervisorDriver):
    name = "qemu"
    capabilities = Capabilities(boots_guests=True, survives_restart=True, disk_hotplug=True,
                                acpi_powerdown=True, hard_reset=True)

    def __init__(self, accel: str = "tcg", binary: str = QEMU_BINARY,
                 start_timeout: float = 30.0):
        self.accel = accel
        self.binary = binary
        self.start_timeout = start_timeout
        self._locks: dict[Path, asyncio.Lock] = {}

    def _lock(self, handle: Handle) -> asyncio.Lock:
        return self._locks.setdefault(handle.instance_dir, asyncio.Lock())

    async def _qmp(self, handle: Handle, timeout: float = 5.0) -> QmpClient:
        return await QmpClient.connect(handle.instance_dir / QMP_SOCKET, timeout)

    @staticmethod
    def _clean(instance_dir: Path) -> None:
        for name in RUNTIME_FILES:
            try:
                (instance_dir / name).unlink()
            except FileNotFoundError:
                pass

    async def spawn(self, spec: InstanceSpec) -> Handle:
        d = spec.instance_dir
        d.mkdir(parents=True, exist_ok=True)
        self._clean(d)
        argv = qemu_argv(spec, self.accel, self.binary)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=d, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise HypervisorError(f"cannot run {argv[0]}: {exc}") from None
        try:
            _out, err = await asyncio.wait_for(proc.communicate(), self.start_timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            await self._discard(d)
            raise HypervisorError(f"QEMU did not start within {self.start_timeout:.0f} s")
        pid = read_pid(d)
        if proc.returncode != 0 or pid is None or not process_alive(pid, d):
            await self._discard(d)
            reason = err.decode(errors="replace").strip()[-800:] or f"exit {proc.returncode}"
            raise HypervisorError(f"QEMU failed to start {spec.instance_id}: {reason}")
        handle = Handle(spec.instance_id, d, pid)
        try:
            qmp = await self._qmp(handle)
            await qmp.close()
        except QmpError as exc:
            await self._discard(d)
            raise HypervisorError(f"QEMU of {spec.instance_id} started without QMP: {exc}")
        return handle

    async def _discard(self, instance_dir: Path) -> None:
        pid = read_pid(instance_dir)
        if pid is not None and process_alive(pid, instance_dir):
            os.kill(pid, signal.SIGKILL)
            await self._wait_exit(pid, instance_dir, 5.0)
        self._clean(instance_dir)

    async def adopt(self, instance_dir: Path) -> Handle | None:
        pid = read_pid(instance_dir)
        if pid is None or not process_alive(pid, instance_dir):
            return None
        return Handle(instance_dir.name, instance_dir, pid)

    async def state(self, handle: Handle) -> DomainState:
        if not process_alive(handle.pid, handle.instance_dir):
            return DomainState.SHUTOFF
        try:
            async with self._lock(handle):
                async with await self._qmp(handle, timeout=2.0) as qmp:
                    status = await qmp.execute("query-status")
        except (QmpError, OSError, asyncio.TimeoutError):
            # busy or exiting monitor: the process is what counts
            alive = process_alive(handle.pid, handle.instance_dir)
            return DomainState.RUNNING if alive else DomainState.SHUTOFF
        return DomainState.RUNNING if status.get("running") else DomainState.PAUSED

    @staticmethod
    async def _wait_exit(pid: int, instance_dir: Path, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while process_alive(pid, instance_dir):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _command(self, handle: Handle, command: str, args: dict | None = None) -> None:
        if not process_alive(handle.pid, handle.instance_dir):
            raise HypervisorError(f"{handle.instance_id} is not running")
        try:
            async with self._lock(handle):
                async with await self._qmp(handle) as qmp:
                    await qmp.execute(command, args)
        except QmpError as exc:
            raise HypervisorError(f"{command} on {handle.instance_id} failed: {exc}") from None

    async def powerdown(self, handle: Handle, wait: float = 0.0) -> bool:
        await self._command(handle, "system_powerdown")
        if wait <= 0:
            return False
        return await self._wait_exit(handle.pid, handle.instance_dir, wait)

    async def reboot(self, handle: Handle) -> None:
        await self._command(handle, "system_reset")

    async def destroy(self, handle: Handle) -> None:
        d, pid = handle.instance_dir, handle.pid
        if process_alive(pid, d):
            try:
                async with self._lock(handle):
                    async with await self._qmp(handle, timeout=2.0) as qmp:
                        await asyncio.wait_for(qmp.execute("quit"), 2.0)
            except (QmpError, OSError, asyncio.TimeoutError):
                pass
            if not await self._wait_exit(pid, d, 3.0) and process_alive(pid, d):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if not await self._wait_exit(pid, d, 5.0):
                    raise HypervisorError(f"QEMU {pid} of {handle.instance_id} did not die")
        self._clean(d)
        self._locks.pop(d, None)

    def console_output(self, handle: Handle, limit: int = 64 * 1024) -> bytes:
        path = handle.instance_dir / CONSOLE_LOG
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(size - limit, 0))
                return f.read()
        except FileNotFoundError:
            return b""

    # -- hot-plug -----------------------------------------------------------------------------
    def _disks(self, handle: Handle) -> dict[str, str]:
        try:
            return json.loads((handle.instance_dir / DISKS).read_text())
        except (OSError, ValueError):
            return {}

    def _save_disks(self, handle: Handle, disks: dict[str, str]) -> None:
        tmp = handle.instance_dir / (DISKS + ".tmp")
        tmp.write_text(json.dumps(disks))
        os.replace(tmp, handle.instance_dir / DISKS)

    def _slots(self, handle: Handle) -> list[str]:
        try:
            spec = json.loads((handle.instance_dir / "spec.json").read_text())
            count = int(spec.get("hotplug_slots", 2))
        except (OSError, ValueError):
            count = 2
        return [f"hp{i}" for i in range(1, count + 1)]

    async def attach_disk(self, handle: Handle, disk: DiskAttachment) -> None:
        disks = self._disks(handle)
        if disk.serial in disks:
            raise HypervisorError(f"{disk.serial} is already attached to {handle.instance_id}")
        free = [s for s in self._slots(handle) if s not in disks.values()]
        if not free:
            raise HypervisorError(f"{handle.instance_id} has no free hot-plug slot")
        async with self._lock(handle):
            try:
                async with await self._qmp(handle) as qmp:
                    await qmp.execute("blockdev-add", blockdev_args(disk))
                    try:
                        await qmp.execute("device_add", device_args(disk, free[0]))
                    except QmpCommandError:
                        await qmp.execute("blockdev-del", {"node-name": f"disk-{disk.serial}"})
                        raise
            except QmpError as exc:
                raise HypervisorError(f"attaching {disk.serial} failed: {exc}") from None
            disks[disk.serial] = free[0]
            self._save_disks(handle, disks)

    async def detach_disk(self, handle: Handle, serial: str, timeout: float = 10.0) -> None:
        disks = self._disks(handle)
        if serial not in disks:
            raise HypervisorError(f"{serial} is not attached to {handle.instance_id}")
        async with self._lock(handle):
            try:
                async with await self._qmp(handle) as qmp:
                    await qmp.execute("device_del", {"id": f"dev-{serial}"})
                    # the backend's event comes first; wait for the device's own
                    await qmp.wait_event("DEVICE_DELETED", timeout, {"device": f"dev-{serial}"})
                    await qmp.execute("blockdev-del", {"node-name": f"disk-{serial}"})
            except asyncio.TimeoutError:
                raise HypervisorError(f"the guest did not release {serial}") from None
            except QmpError as exc:
                raise HypervisorError(f"detaching {serial} failed: {exc}") from None
            del disks[serial]
            self._save_disks(handle, disks)
