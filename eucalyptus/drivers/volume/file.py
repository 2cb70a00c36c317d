"""Volumes as sparse raw files: ``<root>/<volume-id>.img``.

A new volume is a new file truncated to its size (all holes, reads as zeros, costs no space);
an imported raw image is renamed into place (same file system) or sparse-copied; a copy keeps
the holes (``extents.sparse_copy``).
"""
from __future__ import annotations

import os
from pathlib import Path

from eucalyptus.drivers.volume.base import VolumeDriver, VolumeDriverError, VolumeMissing
from eucalyptus.drivers.volume.extents import new_sparse_file, sparse_copy


class FileVolumeDriver(VolumeDriver):
    name = "file"
    format = "raw"
    sparse = True
    suffix = ".img"

    def create(self, volume_id: str, size: int) -> Path:
        path = self._new_path(volume_id)
        new_sparse_file(path, size, fsync=True)
        return path

    def import_raw(self, volume_id: str, raw: Path) -> Path:
        raw = Path(raw)
        try:
            path = self._new_path(volume_id)
            with open(raw, "rb+") as f:
                os.fsync(f.fileno())
            try:
                os.link(raw, path)            # fails if path exists: never replaces a volume
            except OSError as exc:
                if exc.errno != 18:           # EXDEV: another file system
                    raise
                sparse_copy(raw, path, fsync=True)
            return path
        finally:
            raw.unlink(missing_ok=True)

    def copy_raw(self, volume_id: str, dest: Path) -> None:
        src = self._existing_path(volume_id)
        try:
            sparse_copy(src, Path(dest))
        except FileExistsError:
            raise VolumeDriverError(f"{dest} exists") from None

    def size(self, volume_id: str) -> int:
        try:
            return self.path(volume_id).stat().st_size
        except FileNotFoundError:
            raise VolumeMissing(volume_id) from None
