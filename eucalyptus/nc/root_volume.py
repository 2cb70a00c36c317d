"""The root disk of an EBS-backed instance: an NBD export of its root volume.

An instance launched from an EBS-backed image boots (its kernel and ramdisk, or the disk's own
boot loader when it has no kernel) with its root device on a volume of the storage controller
instead of a copy-on-write overlay of a cached image. The cluster hands the node a
``RootVolume`` (``RunInstance.root_volume``): the SC's export of the volume to this instance.

Contract:
- ``spec_extra(root)`` is what the node stores in ``InstanceSpec.extra["root_volume"]``: the
  hypervisor driver attaches it as the guest's first disk, an NBD block device whose serial is
  the volume id (the guest finds it in ``/sys/block/*/serial``), boot index 0. Nothing is
  written to the node's disk for it, so the instance's data lives only on the volume and the
  instance may start again on another node.
- ``check(root)`` raises InvalidParameterValue for an export the node cannot use.
- ``power_off(driver, handle, instance_dir)`` shuts the guest of an EBS-backed instance down
  cleanly before it is destroyed (ACPI power button, at most ``POWEROFF_WAIT`` seconds), so the
  guest's writes reach the volume; it does nothing for instance-store instances and never
  raises.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from eucalyptus import errors
from eucalyptus.drivers.hypervisor.base import DiskAttachment, HypervisorError

log = logging.getLogger("eucalyptus.nc.root_volume")
POWEROFF_WAIT = 15.0
EXTRA_KEY = "root_volume"


@dataclass
class RootVolume:
    """The SC's NBD export of an instance's root volume (``nbd_socket`` on the SC's host, or
    ``nbd_host``/``nbd_port``), with the export name."""
    volume_id: str
    export_name: str
    nbd_host: str = ""
    nbd_port: int = 0
    nbd_socket: str = ""


def attachment(root: RootVolume) -> DiskAttachment:
    """The export as a hypervisor disk (serial = volume id); ValueError when unusable."""
    return DiskAttachment(serial=root.volume_id, nbd_host=root.nbd_host or None,
                          nbd_port=root.nbd_port or None,
                          nbd_socket=Path(root.nbd_socket) if root.nbd_socket else None,
                          nbd_export=root.export_name or None)


def check(root: RootVolume) -> None:
    try:
        attachment(root)
    except ValueError as exc:
        raise errors.InvalidParameterValue(f"bad root volume export: {exc}") from None


def spec_extra(root: RootVolume) -> dict:
    return {EXTRA_KEY: asdict(root)}


def root_of(instance_dir: Path) -> RootVolume | None:
    """The root volume recorded in the instance's ``spec.json``, if it has one."""
    try:
        spec = json.loads((Path(instance_dir) / "spec.json").read_text())
    except (OSError, ValueError):
        return None
    data = (spec.get("extra") or {}).get(EXTRA_KEY)
    return RootVolume(**data) if isinstance(data, dict) else None


async def power_off(driver, handle, instance_dir: Path) -> None:
    """A clean shutdown of an EBS-backed guest before its destruction (see the module
    docstring)."""
    if handle is None or root_of(instance_dir) is None:
        return
    if not driver.capabilities.acpi_powerdown and driver.capabilities.boots_guests:
        return
    try:
        if not await driver.powerdown(handle, wait=POWEROFF_WAIT):
            log.info("%s did not power off within %.0f s", handle.instance_id, POWEROFF_WAIT)
    except HypervisorError as exc:
        log.info("powering off %s: %s", handle.instance_id, exc)
