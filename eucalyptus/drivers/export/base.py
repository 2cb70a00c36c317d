"""The export-driver interface: how a storage controller serves a volume image to nodes.

The data path, apart from the volume driver's control path: an export driver is handed an
image file and its qemu block format and makes it reachable by a network block protocol.

Contract (``tests/unit/test_export_nbd.py`` checks the NBD driver):

* ``open(volume_id, image, fmt)`` starts serving ``image`` read-write and returns an
  ``Endpoint`` once clients can connect. Each export is its own process, identified by its
  PID (recorded in the endpoint) and stopped by that PID only. A failed open leaves no
  process or socket behind.
* ``close(endpoint)`` stops serving (idempotent): after it returns no process of the export
  holds the image open, so the image may be unlinked or copied.
* ``running(endpoint)`` tells whether the export's process still serves (after a restart of
  the storage controller, to adopt exports that survived it).
* ``backup(endpoint, dest)`` writes a point-in-time raw copy of the served image to the new
  file ``dest`` while the export keeps serving: the copy holds the content as it was when the
  call began, whatever clients write meanwhile.
* Endpoints are plain data (``to_dict``/``from_dict``) so the controller can keep them.
"""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any


class ExportError(Exception):
    """An export could not be started, stopped or copied; the message says why."""


@dataclass
class Endpoint:
    """A running export: NBD ``export_name`` on a unix ``socket`` or TCP ``host``:``port``;
    ``pid`` of its process, ``control`` the path of its control (QMP) socket."""
    volume_id: str
    export_name: str
    image: str
    format: str
    pid: int
    socket: str = ""
    host: str = ""
    port: int = 0
    control: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Endpoint":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def uri(self) -> str:
        """The NBD URI clients (qemu-io, qemu-img, QEMU's nbd driver) open."""
        if self.socket:
            return f"nbd+unix:///{self.export_name}?socket={self.socket}"
        return f"nbd://{self.host}:{self.port}/{self.export_name}"


class ExportDriver(abc.ABC):
    name = "base"

    @abc.abstractmethod
    async def open(self, volume_id: str, image: Path, fmt: str) -> Endpoint:
        """Serve ``image`` (qemu format ``fmt``) read-write; its endpoint."""

    @abc.abstractmethod
    async def close(self, endpoint: Endpoint) -> None:
        """Stop serving; idempotent."""

    @abc.abstractmethod
    def running(self, endpoint: Endpoint) -> bool:
        """Whether the export's process still serves."""

    @abc.abstractmethod
    async def backup(self, endpoint: Endpoint, dest: Path) -> None:
        """A point-in-time raw copy of the served image in the new file ``dest``."""
