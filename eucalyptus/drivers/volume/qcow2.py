"""Volumes as qcow2 images: ``<root>/<volume-id>.qcow2``, made and read with ``qemu-img``.

A new volume is a fresh qcow2 (no cluster allocated, reads as zeros); an imported raw image is
converted (zero clusters skipped); a copy is converted back to a sparse raw file.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from eucalyptus.drivers.volume.base import VolumeDriver, VolumeDriverError

QEMU_IMG = "qemu-img"
TIMEOUT_S = 3600


def _run(*args: str) -> str:
    try:
        done = subprocess.run([QEMU_IMG, *args], capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VolumeDriverError(f"qemu-img {args[0]}: {exc}") from None
    if done.returncode != 0:
        raise VolumeDriverError(f"qemu-img {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


class Qcow2VolumeDriver(VolumeDriver):
    name = "qcow2"
    format = "qcow2"
    sparse = True
    suffix = ".qcow2"

    def create(self, volume_id: str, size: int) -> Path:
        path = self._new_path(volume_id)
        try:
            _run("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", str(path), str(size))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def import_raw(self, volume_id: str, raw: Path) -> Path:
        raw = Path(raw)
        try:
            path = self._new_path(volume_id)
            try:
                _run("convert", "-q", "-f", "raw", "-O", "qcow2", "-o", "lazy_refcounts=on",
                     "-S", "4k", "-W", str(raw), str(path))
                with open(path, "rb+") as f:
                    os.fsync(f.fileno())
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            return path
        finally:
            raw.unlink(missing_ok=True)

    def copy_raw(self, volume_id: str, dest: Path) -> None:
        src = self._existing_path(volume_id)
        dest = Path(dest)
        if dest.exists():
            raise VolumeDriverError(f"{dest} exists")
        try:
            _run("convert", "-q", "-f", "qcow2", "-O", "raw", "-S", "4k", "-W", str(src),
                 str(dest))
        except BaseException:
            dest.unlink(missing_ok=True)
            raise

    def size(self, volume_id: str) -> int:
        path = self._existing_path(volume_id)
        info = json.loads(_run("info", "--output=json", "-U", "-f", "qcow2", str(path)))
        return int(info["virtual-size"])
