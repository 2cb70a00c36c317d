"""Which QEMU accelerator to use: HYPERVISOR=kvm|tcg as configured, or ``auto``.

``auto`` uses KVM only when a probe proves it runs guests: /dev/kvm must open read-write and a
probe guest (the starter kernel and initramfs with ``eucalyptus.probe=1``, which prints
``EUCALYPTUS-PROBE-OK`` and powers off) must finish under ``-accel kvm -cpu host`` within
``timeout`` seconds. Some hosts expose a /dev/kvm that cannot run ordinary guests (nested or
PVM-style backends), so opening the device is not enough. Without a probe image, ``auto``
chooses TCG. The verdict is cached in ``cache_file`` per host boot and QEMU binary, so the probe
runs once.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

PROBE_MARKER = b"EUCALYPTUS-PROBE-OK"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def kvm_device_usable(device: str = "/dev/kvm") -> bool:
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def probe_kvm(binary: str, kernel: Path, ramdisk: Path, timeout: float = 10.0) -> bool:
    """Boot the probe guest under KVM; True when it reports back in time."""
    argv = [binary, "-nodefaults", "-no-user-config", "-display", "none", "-machine", "q35",
            "-accel", "kvm", "-cpu", "host", "-m", "128", "-no-reboot", "-serial", "stdio",
            "-kernel", str(kernel), "-initrd", str(ramdisk),
            "-append", "console=ttyS0 quiet panic=-1 eucalyptus.probe=1"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (subprocess.TimeoutExpired, OSError):
        return False
    return PROBE_MARKER in done.stdout


def choose_accel(setting: str, binary: str = "qemu-system-x86_64",
                 probe_image: tuple[Path, Path] | None = None,
                 cache_file: Path | None = None) -> str:
    """``kvm`` or ``tcg`` for HYPERVISOR=``setting`` (see the module docstring)."""
    if setting in ("kvm", "tcg"):
        return setting
    if setting != "auto":
        raise ValueError(f"HYPERVISOR must be auto, kvm or tcg, not {setting!r}")
    if not kvm_device_usable():
        return "tcg"
    if probe_image is None:
        return "tcg"
    qemu = shutil.which(binary) or binary
    try:
        key = f"{_boot_id()} {qemu} {os.stat(qemu).st_mtime_ns}"
    except OSError:
        return "tcg"
    if cache_file is not None:
        try:
            cached = json.loads(cache_file.read_text())
            if cached.get("key") == key and cached.get("accel") in ("kvm", "tcg"):
                return cached["accel"]
        except (OSError, ValueError):
            pass
    accel = "kvm" if probe_kvm(qemu, *probe_image) else "tcg"
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps({"key": key, "accel": accel}))
    return accel
