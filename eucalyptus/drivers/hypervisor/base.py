"""The hypervisor driver interface: what a node controller needs from a virtual machine monitor.

A driver runs one guest per instance directory and keeps nothing in memory that cannot be found
again from that directory: the node controller may be killed and restarted at any time while
guests keep running, and ``adopt`` reconnects to them.

Contract of every driver (tests/unit/test_qemu*.py and the system tests check it):
- ``spawn(spec)`` starts the guest and returns a ``Handle`` once the monitor answers. On any
  failure it leaves no process and no runtime files behind (spec and console log may stay for
  diagnosis) and raises ``HypervisorError``.
- ``adopt(instance_dir)`` returns a ``Handle`` for a guest still running from that directory,
  or None when there is none (files of a dead guest are left for the caller to clean).
- ``state(handle)`` is RUNNING, PAUSED or SHUTOFF (the monitor process has ended: the guest
  powered off, crashed or was destroyed). It never raises for a dead guest.
- ``powerdown`` asks the guest to shut down (ACPI power button) and returns without waiting
  unless ``wait`` > 0; ``reboot`` resets the guest (it boots again from the start).
- ``destroy(handle)`` ends the guest for good: a polite monitor ``quit``, then SIGKILL of the
  process recorded for this directory (never any other process), then its runtime files are
  removed. Calling it again, or on a guest that is already gone, does nothing and succeeds.
- ``console_output(handle)`` returns the serial console captured so far (at most the last
  ``limit`` bytes), surviving guest reboots and controller restarts.
- ``attach_disk``/``detach_disk`` hot-plug a block device identified by its serial (a volume
  id); the guest sees the serial, not a predictable device name.
Capabilities are declared as ``Capabilities`` flags, never discovered by trying.
"""
from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class HypervisorError(RuntimeError):
    """A guest could not be started or controlled; the message says why."""


class DomainState(str, enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    SHUTOFF = "shutoff"


@dataclass(frozen=True)
class Capabilities:
    boots_guests: bool = True          # False only for test doubles
    survives_restart: bool = True      # guests outlive the node controller
    disk_hotplug: bool = False
    acpi_powerdown: bool = False
    hard_reset: bool = False


@dataclass
class InstanceSpec:
    """Everything needed to start one guest; stored as spec.json in its directory.

    Boot either ``kernel`` (+ optional ``ramdisk``, ``cmdline``) or ``disk`` (a qcow2 or raw
    image, usually a copy-on-write overlay made by the caller). ``extra["root_volume"]`` (the
    fields of ``nc.root_volume.RootVolume``) gives an NBD export as the root disk instead of
    ``disk``, booted by ``kernel`` when there is one. ``tap`` names a tap device that
    already exists in network namespace ``netns`` (None: the root namespace); no ``tap`` means
    no network card.
    """
    instance_id: str
    instance_dir: Path
    vcpus: int = 1
    memory_mib: int = 256
    kernel: Path | None = None
    ramdisk: Path | None = None
    cmdline: str = ""
    disk: Path | None = None
    disk_format: str = "qcow2"
    mac: str | None = None
    tap: str | None = None
    netns: str | None = None
    hotplug_slots: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("instance_dir", "kernel", "ramdisk", "disk"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))
        root_volume = bool(self.extra.get("root_volume"))    # an NBD root (EBS-backed)
        if (self.kernel is None) == (self.disk is None) and not (root_volume and not self.disk):
            raise ValueError("an instance boots either a kernel or a disk image")
        if not 1 <= self.vcpus <= 64 or not 16 <= self.memory_mib <= 1 << 20:
            raise ValueError("vcpus must be 1-64 and memory 16 MiB-1 TiB")
        if not 0 <= self.hotplug_slots <= 16:
            raise ValueError("hotplug_slots must be 0-16")

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "InstanceSpec":
        return cls(**data)


@dataclass(frozen=True)
class DiskAttachment:
    """A block device to hot-plug: a local file (``path``) or an NBD export
    (``nbd_host``/``nbd_port`` or ``nbd_socket``, with ``nbd_export``)."""
    serial: str
    path: Path | None = None
    format: str = "raw"
    nbd_host: str | None = None
    nbd_port: int | None = None
    nbd_socket: Path | None = None
    nbd_export: str | None = None
    read_only: bool = False

    def __post_init__(self) -> None:
        if not 1 <= len(self.serial) <= 20 or not self.serial.replace("-", "").isalnum():
            raise ValueError("a disk serial is 1-20 letters, digits and dashes")
        if (self.path is None) == (self.nbd_host is None and self.nbd_socket is None):
            raise ValueError("a disk is either a file or an NBD export")


@dataclass
class Handle:
    """A running (or once running) guest: its directory and monitor process."""
    instance_id: str
    instance_dir: Path
    pid: int


class HypervisorDriver(ABC):
    name = "base"
    capabilities = Capabilities()

    @abstractmethod
    async def spawn(self, spec: InstanceSpec) -> Handle: ...

    @abstractmethod
    async def adopt(self, instance_dir: Path) -> Handle | None: ...

    @abstractmethod
    async def state(self, handle: Handle) -> DomainState: ...

    @abstractmethod
    async def powerdown(self, handle: Handle, wait: float = 0.0) -> bool:
        """Press the power button; with ``wait`` > 0, True once the guest is off."""

    @abstractmethod
    async def reboot(self, handle: Handle) -> None: ...

    @abstractmethod
    async def destroy(self, handle: Handle) -> None: ...

    @abstractmethod
    def console_output(self, handle: Handle, limit: int = 64 * 1024) -> bytes: ...

    async def attach_disk(self, handle: Handle, disk: DiskAttachment) -> None:
        raise HypervisorError(f"{self.name} cannot hot-plug disks")

    async def detach_disk(self, handle: Handle, serial: str, timeout: float = 10.0) -> None:
        raise HypervisorError(f"{self.name} cannot hot-plug disks")
