"""Blob stores: where Walrus keeps object bytes (``base.BlobStore``; ``fs`` on a filesystem).

``load(name, root)`` returns the store implementation called ``name`` rooted at ``root``.
"""
from __future__ import annotations

from pathlib import Path

from eucalyptus.drivers.objects.base import BlobNotFound, BlobStore, BlobWriter

DRIVERS = {"fs": "eucalyptus.drivers.objects.fs:FsBlobStore"}

__all__ = ["BlobNotFound", "BlobStore", "BlobWriter", "DRIVERS", "load"]


def load(name: str, root: str | Path) -> BlobStore:
    from importlib import import_module
    try:
        module_name, _, class_name = DRIVERS[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown blob store driver {name!r}") from None
    return getattr(import_module(module_name), class_name)(Path(root))
