"""Volume drivers of the storage controller (see ``base`` for the contract).

``load(name, root)``: ``file`` (sparse raw files), ``qcow2``, or ``module:Class``.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from eucalyptus.drivers.volume.base import VolumeDriver

DRIVERS = {"file": "eucalyptus.drivers.volume.file:FileVolumeDriver",
           "qcow2": "eucalyptus.drivers.volume.qcow2:Qcow2VolumeDriver"}


def load(name: str, root: str | Path) -> VolumeDriver:
    """The volume driver called ``name`` keeping its volumes under ``root``."""
    module_name, _, class_name = DRIVERS.get(name, name).partition(":")
    if not class_name:
        raise ValueError(f"unknown volume driver {name!r} (file, qcow2 or module:Class)")
    driver = getattr(import_module(module_name), class_name)(Path(root))
    if not isinstance(driver, VolumeDriver):
        raise TypeError(f"volume driver {name} is not a VolumeDriver")
    return driver
