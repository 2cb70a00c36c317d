"""A bootable full-disk image of the starter guest, built from host packages without mounting.

    path = build_disk(Path("starter-disk.raw"))                 # raw, MBR + one FAT partition
    path = build_disk(Path("starter-disk.qcow2"), fmt="qcow2")  # the same, converted

The disk boots with a PC BIOS (SeaBIOS) and no kernel given to the hypervisor: syslinux's MBR
(``mbr.bin``) chains to the active partition, whose boot sector and ``ldlinux.sys`` (written
by ``syslinux --install --offset``) load the Debian kernel (the bzImage; a BIOS loader cannot
start the ELF ``vmlinux``) and the starter initramfs with the starter's command line. The FAT
file system is made and filled with mtools (``mformat``/``mcopy``) straight inside the disk
file at the partition's offset. Host packages: syslinux, syslinux-common, mtools (and
qemu-utils for qcow2). A missing tool raises FileNotFoundError naming the package.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from eucalyptus.images.starter import CMDLINE, build_starter, default_cache_dir
from eucalyptus.images.starter.kernel import fetch_kernel

SECTOR = 512
PART_START = 2048                       # sectors: the partition begins at 1 MiB
MBR_CODE = (Path("/usr/lib/syslinux/mbr/mbr.bin"), Path("/usr/lib/SYSLINUX/mbr.bin"))
TOOLS = (("mformat", "mtools"), ("mcopy", "mtools"), ("syslinux", "syslinux"))
FAT16_LBA = 0x0E
SLACK_MIB = 8


def syslinux_config(cmdline: str = CMDLINE) -> str:
    """The boot loader's configuration: straight to the kernel, console on the first UART."""
    return ("SERIAL 0 115200\nPROMPT 0\nTIMEOUT 1\nDEFAULT starter\n"
            "LABEL starter\n  KERNEL /vmlinuz\n  INITRD /initrd.gz\n"
            f"  APPEND {cmdline}\n")


def mbr(code: bytes, start: int, sectors: int, part_type: int = FAT16_LBA) -> bytes:
    """A 512-byte master boot record: ``code`` (at most 440 bytes), a disk signature and one
    active partition of ``sectors`` sectors from LBA ``start`` (CHS fields marked unusable)."""
    if len(code) > 440:
        raise ValueError("MBR boot code is at most 440 bytes")
    chs_max = b"\xfe\xff\xff"
    entry = (b"\x80" + chs_max + bytes([part_type]) + chs_max
             + struct.pack("<II", start, sectors))
    record = code.ljust(440, b"\0") + b"EUCA" + b"\0\0" + entry + b"\0" * 48 + b"\x55\xaa"
    assert len(record) == SECTOR
    return record


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is missing: apt-get install {package}")
    return path


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")


def _mbr_code() -> bytes:
    for path in MBR_CODE:
        if path.exists():
            return path.read_bytes()[:440]
    raise FileNotFoundError(f"{MBR_CODE[0]} is missing: apt-get install syslinux-common")


def write_raw_disk(target: Path, kernel: Path, initrd: Path, cmdline: str = CMDLINE) -> Path:
    """Write a bootable raw disk holding ``kernel`` (a bzImage) and ``initrd`` to ``target``."""
    tools = {name: _tool(name, package) for name, package in TOOLS}
    code = _mbr_code()
    payload = kernel.stat().st_size + initrd.stat().st_size
    part_mib = max(32, -(-payload // (1 << 20)) + SLACK_MIB)
    part_sectors = part_mib * (1 << 20) // SECTOR
    tmp = target.with_name(f".{target.name}.building")
    try:
        with open(tmp, "wb") as f:
            f.truncate((PART_START + part_sectors) * SECTOR)
            f.write(mbr(code, PART_START, part_sectors))
        offset = PART_START * SECTOR
        image = f"{tmp}@@{offset}"
        env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
        for argv in ([tools["mformat"], "-i", image, "-T", str(part_sectors), "-h", "64",
                      "-s", "32", "-H", str(PART_START), "-v", "STARTER", "::"],
                     [tools["mcopy"], "-i", image, str(kernel), "::/vmlinuz"],
                     [tools["mcopy"], "-i", image, str(initrd), "::/initrd.gz"]):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
            if done.returncode != 0:
                raise OSError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
        with tempfile.TemporaryDirectory() as work:
            cfg = Path(work) / "syslinux.cfg"
            cfg.write_text(syslinux_config(cmdline))
            done = subprocess.run([tools["mcopy"], "-i", image, str(cfg), "::/syslinux.cfg"],
                                  capture_output=True, text=True, timeout=60, env=env)
            if done.returncode != 0:
                raise OSError(f"mcopy syslinux.cfg failed: {done.stderr.strip()[-500:]}")
        _run([tools["syslinux"], "--install", "--offset", str(offset), str(tmp)])
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def build_disk(target: Path, fmt: str = "raw", cache_dir: Path | None = None) -> Path:
    """The starter guest as one bootable disk file at ``target`` (raw or qcow2)."""
    if fmt not in ("raw", "qcow2"):
        raise ValueError("format must be raw or qcow2")
    cache_dir = Path(cache_dir or default_cache_dir())
    starter = build_starter(cache_dir)
    info = json.loads(starter.description.read_text())
    tree = fetch_kernel(cache_dir, info["kernel_package"], info["kernel_version"])
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "raw":
        return write_raw_disk(target, tree.bzimage, starter.ramdisk, starter.cmdline)
    raw = target.with_name(f".{target.name}.raw")
    try:
        write_raw_disk(raw, tree.bzimage, starter.ramdisk, starter.cmdline)
        _run([_tool("qemu-img", "qemu-utils"), "convert", "-q", "-f", "raw", "-O", "qcow2",
              str(raw), str(target)])
    finally:
        raw.unlink(missing_ok=True)
    return target


__all__ = ["build_disk", "write_raw_disk", "mbr", "syslinux_config"]
