"""The volume-driver interface: where a storage controller keeps the bytes of its volumes.

A driver owns one directory (``root``) and names each volume by its id. It is the control
path only: it makes, copies and removes volume images; the data path (serving a volume to a
node) is an export driver's job (``eucalyptus.drivers.export``), which opens the image file
given by ``path()`` in the qemu block format given by ``format``.

The contract every driver keeps (``tests/compliance/test_volume_drivers.py`` checks it):

* ``create(id, size)`` makes a new volume of exactly ``size`` bytes that reads as zeros
  everywhere: a fresh file, never a reused one, so no tenant ever sees another's old data.
  It raises ``VolumeExists`` for an id that exists and leaves nothing behind when it fails.
* ``import_raw(id, raw)`` makes a new volume whose content is exactly the raw image file
  ``raw`` (its size is the volume's size). ``raw`` is consumed: moved or converted, then gone.
  On failure nothing is left of the volume and ``raw`` is removed too.
* ``copy_raw(id, dest)`` writes a raw, sparse copy of the volume's current content to the new
  file ``dest``. The caller guarantees nothing writes to the volume meanwhile.
* ``delete(id)`` removes the volume's bytes (the file is unlinked); idempotent: True when
  something was removed. The caller stops any export first.
* ``size(id)`` is the virtual size in bytes, ``allocated(id)`` the bytes the image takes on
  disk; both raise ``VolumeMissing`` for an unknown id. ``ids()`` lists the volumes present.
* Capabilities are flags: ``sparse`` (an empty volume costs no space), ``format`` the qemu
  block driver of ``path(id)`` ("raw" or "qcow2").
* Every method blocks (file I/O, qemu-img); async callers run them in a thread.
"""
from __future__ import annotations

import abc
import re
from pathlib import Path

VOLUME_ID = re.compile(r"vol-[0-9a-f]{8,17}")


class VolumeDriverError(Exception):
    """A driver operation failed; the message says why."""


class VolumeExists(VolumeDriverError):
    pass


class VolumeMissing(VolumeDriverError):
    pass


class VolumeDriver(abc.ABC):
    name = "base"
    format = "raw"
    sparse = True
    suffix = ".img"

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, volume_id: str) -> Path:
        """The image file of ``volume_id`` (whether it exists or not)."""
        if not VOLUME_ID.fullmatch(volume_id):
            raise VolumeDriverError(f"{volume_id!r} is not a volume id")
        return self.root / f"{volume_id}{self.suffix}"

    def exists(self, volume_id: str) -> bool:
        return self.path(volume_id).exists()

    def ids(self) -> list[str]:
        return sorted(p.name[:-len(self.suffix)] for p in self.root.glob(f"vol-*{self.suffix}"))

    def allocated(self, volume_id: str) -> int:
        try:
            return self.path(volume_id).stat().st_blocks * 512
        except FileNotFoundError:
            raise VolumeMissing(volume_id) from None

    def delete(self, volume_id: str) -> bool:
        try:
            self.path(volume_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def _existing_path(self, volume_id: str) -> Path:
        """The image file of ``volume_id``; VolumeMissing when there is none."""
        path = self.path(volume_id)
        if not path.exists():
            raise VolumeMissing(volume_id)
        return path

    def _new_path(self, volume_id: str) -> Path:
        path = self.path(volume_id)
        if path.exists():
            raise VolumeExists(f"volume {volume_id} exists")
        return path

    @abc.abstractmethod
    def create(self, volume_id: str, size: int) -> Path:
        """A new all-zero volume of ``size`` bytes; its path."""

    @abc.abstractmethod
    def import_raw(self, volume_id: str, raw: Path) -> Path:
        """A new volume holding exactly the raw image ``raw`` (consumed); its path."""

    @abc.abstractmethod
    def copy_raw(self, volume_id: str, dest: Path) -> None:
        """A raw sparse copy of the volume's content in the new file ``dest``."""

    @abc.abstractmethod
    def size(self, volume_id: str) -> int:
        """Virtual size in bytes."""
