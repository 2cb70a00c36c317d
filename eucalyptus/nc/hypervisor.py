"""The node's hypervisor driver, chosen by configuration.

NC_DRIVER names the driver: ``qemu`` (the default) or ``module:Class`` for another
implementation of ``drivers.hypervisor.base.HypervisorDriver`` (tests use a double that boots
nothing). For QEMU, HYPERVISOR=auto|kvm|tcg picks the accelerator (``drivers.hypervisor.accel``;
the probe boots the starter image when one was built under DIR/cache or the user cache).
"""
from __future__ import annotations

import importlib

from eucalyptus.config import Settings
from eucalyptus.drivers.hypervisor.accel import choose_accel
from eucalyptus.drivers.hypervisor.base import HypervisorDriver
from eucalyptus.drivers.hypervisor.qemu import QemuDriver


def _probe_image(settings: Settings):
    from eucalyptus.images.starter import default_cache_dir
    for cache in (settings.data_dir / "cache", default_cache_dir()):
        kernel, ramdisk = cache / "starter" / "vmlinux", cache / "starter" / "initramfs.cpio.gz"
        if kernel.exists() and ramdisk.exists():
            return kernel, ramdisk
    return None


def load_driver(settings: Settings) -> HypervisorDriver:
    name = settings.nc_driver
    if name == "qemu":
        accel = choose_accel(settings.hypervisor, probe_image=_probe_image(settings),
                             cache_file=settings.data_dir / "cache" / "accel.json")
        return QemuDriver(accel=accel)
    module, _, cls = name.partition(":")
    driver = getattr(importlib.import_module(module), cls)()
    if not isinstance(driver, HypervisorDriver):
        raise TypeError(f"NC_DRIVER {name} is not a HypervisorDriver")
    return driver


def describe(driver: HypervisorDriver) -> str:
    """``qemu/tcg``-style name for resource reports."""
    accel = getattr(driver, "accel", "")
    return f"{driver.name}/{accel}" if accel else driver.name
