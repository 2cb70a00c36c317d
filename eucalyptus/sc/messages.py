"""Internal API messages of the storage controller (callers clc, cc, admin).

    POST /internal/sc/volumes/create      VolumeCreate       -> VolumeInfo
    POST /internal/sc/volumes/describe    VolumeIds          -> VolumeInfos
    POST /internal/sc/volumes/delete      VolumeRef          -> VolumeInfo
    POST /internal/sc/volumes/export      VolumeExportRequest -> VolumeExport
    POST /internal/sc/volumes/unexport    VolumeExportRequest -> VolumeInfo
    POST /internal/sc/snapshots/create    SnapshotCreate     -> SnapshotInfo
    POST /internal/sc/snapshots/describe  SnapshotIds        -> SnapshotInfos
    POST /internal/sc/snapshots/delete    SnapshotRef        -> SnapshotInfo
    POST /internal/sc/capacity            (no body)          -> StorageCapacity

Contracts:
- ``volumes/create`` makes an empty volume of ``size_gib`` (state "available" at once), or,
  with ``snapshot_id``, a volume restored from that snapshot in Walrus: the restore runs in the
  background and the volume stays "creating" until it is done ("error" with ``reason`` if the
  restore fails). ``size_gib`` may be 0 with a snapshot: the snapshot's size is used; it may not
  be smaller than the snapshot. Creating an id that exists answers the existing volume
  (idempotent). A volume that does not fit the SC's free space or SC_MAX_GIB quota raises
  InsufficientVolumeCapacity; an unknown snapshot InvalidSnapshot.NotFound.
- ``volumes/describe`` with no ids lists every volume the SC holds (deleted ones excluded);
  with ids, an unknown id raises InvalidVolume.NotFound.
- ``volumes/delete`` stops the volume's export and unlinks its bytes; idempotent (an unknown
  or already deleted id answers state "deleted"). A restore in progress is cancelled; a
  snapshot's point-in-time copy in progress is waited for (the upload goes on from the copy).
  The SC does not refuse to delete an exported volume: the caller checks attachments.
- ``volumes/export`` gives ``client`` (the instance id) an NBD export of the volume: the same
  client asking again gets the same export; another client while one holds it raises
  VolumeInUse; a volume not "available" raises IncorrectState. ``nbd_socket`` is a unix socket
  path for clients on the SC's machine, ``nbd_host``/``nbd_port`` a TCP endpoint on the SC's
  BIND_ADDRESS for other hosts (which are filled depends on SC_NBD_TRANSPORT). The export name
  is ``export_name`` (NBD URI: ``nbd://host:port/<export_name>`` or
  ``nbd+unix:///<export_name>?socket=<nbd_socket>``).
- ``volumes/unexport`` ends the export held by ``client`` (idempotent; an empty ``client``
  ends any export; a ``client`` that does not hold the export changes nothing).
- ``snapshots/create`` takes a point-in-time copy of the volume at once and streams it to
  Walrus in the background (state "pending", ``progress`` 0-100, then "completed" or "error").
  The volume stays usable and exported meanwhile. Creating an id that exists answers it.
- ``snapshots/describe`` knows the snapshots this SC took; an unknown id raises
  InvalidSnapshot.NotFound.
- ``snapshots/delete`` stops a pending upload and removes the snapshot's objects from Walrus
  (also of a snapshot another zone's SC took); idempotent.
- ``capacity``: ``total_gib``/``free_gib`` of the SC's volume file system, ``allocated_gib``
  the sum of the sizes of its volumes, ``volumes`` their count.
"""
from __future__ import annotations

from dataclasses import dataclass, field

VOLUME_STATES = ("creating", "available", "deleting", "deleted", "error")
SNAPSHOT_STATES = ("pending", "completed", "error", "deleted")


@dataclass
class VolumeCreate:
    volume_id: str
    size_gib: int
    snapshot_id: str = ""


@dataclass
class VolumeIds:
    volume_ids: list[str] = field(default_factory=list)


@dataclass
class VolumeRef:
    volume_id: str


@dataclass
class VolumeInfo:
    """One volume as the SC sees it; ``exported_to`` is the client holding its export."""
    volume_id: str
    size_gib: int
    state: str
    reason: str = ""
    snapshot_id: str = ""
    exported_to: str = ""


@dataclass
class VolumeInfos:
    volumes: list[VolumeInfo] = field(default_factory=list)


@dataclass
class VolumeExportRequest:
    volume_id: str
    client: str


@dataclass
class VolumeExport:
    volume_id: str
    export_name: str
    nbd_host: str = ""
    nbd_port: int = 0
    nbd_socket: str = ""


@dataclass
class SnapshotCreate:
    snapshot_id: str
    volume_id: str


@dataclass
class SnapshotIds:
    snapshot_ids: list[str] = field(default_factory=list)


@dataclass
class SnapshotRef:
    snapshot_id: str


@dataclass
class SnapshotInfo:
    snapshot_id: str
    volume_id: str
    state: str
    progress: int
    size_gib: int
    reason: str = ""


@dataclass
class SnapshotInfos:
    snapshots: list[SnapshotInfo] = field(default_factory=list)


@dataclass
class StorageCapacity:
    total_gib: int
    free_gib: int
    allocated_gib: int
    volumes: int
