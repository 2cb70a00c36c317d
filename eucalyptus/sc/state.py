"""The storage controller's own records: volumes, their exports, and snapshots.

Kept in a small SQLite file (DIR/sc/state.sqlite) beside the volume images, not in the cloud
database: the SC owns this state and must find it again after a restart. One table holds
every record as JSON by kind and id; writes commit at once.

    state = ScState(path)
    state.put_volume(VolumeRecord(...)); state.volume("vol-...") -> VolumeRecord | None
    state.volumes() / state.snapshots(); state.drop_volume(id) / state.drop_snapshot(id)
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eucalyptus.sc.messages import SnapshotInfo, VolumeInfo


@dataclass
class VolumeRecord(VolumeInfo):
    """A volume (the fields of ``VolumeInfo``) and, while it is exported, the export's
    endpoint (``Endpoint.to_dict``)."""
    endpoint: dict[str, Any] = field(default_factory=dict)

    def info(self) -> VolumeInfo:
        return _as_message(VolumeInfo, self)


class SnapshotRecord(SnapshotInfo):
    """A snapshot: the fields of ``SnapshotInfo``."""

    def info(self) -> SnapshotInfo:
        return _as_message(SnapshotInfo, self)


def _as_message(cls, record):
    """A ``cls`` (a message dataclass) with the values of ``record``'s fields of ``cls``."""
    return cls(**{f.name: getattr(record, f.name) for f in dataclasses.fields(cls)})


class ScState:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, "
                         "id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, id))")

    def close(self) -> None:
        self._db.close()

    def _put(self, kind: str, ident: str, record: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO records (kind, id, data) VALUES (?, ?, ?)",
                         (kind, ident, json.dumps(dataclasses.asdict(record))))

    def _get(self, kind: str, ident: str) -> dict | None:
        row = self._db.execute("SELECT data FROM records WHERE kind = ? AND id = ?",
                               (kind, ident)).fetchone()
        return json.loads(row[0]) if row else None

    def _all(self, kind: str) -> list[dict]:
        return [json.loads(r[0]) for r in self._db.execute(
            "SELECT data FROM records WHERE kind = ? ORDER BY id", (kind,))]

    def _drop(self, kind: str, ident: str) -> None:
        self._db.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, ident))

    def put_volume(self, record: VolumeRecord) -> None:
        self._put("volume", record.volume_id, record)

    def volume(self, volume_id: str) -> VolumeRecord | None:
        data = self._get("volume", volume_id)
        return VolumeRecord(**data) if data else None

    def volumes(self) -> list[VolumeRecord]:
        return [VolumeRecord(**d) for d in self._all("volume")]

    def drop_volume(self, volume_id: str) -> None:
        self._drop("volume", volume_id)

    def put_snapshot(self, record: SnapshotRecord) -> None:
        self._put("snapshot", record.snapshot_id, record)

    def snapshot(self, snapshot_id: str) -> SnapshotRecord | None:
        data = self._get("snapshot", snapshot_id)
        return SnapshotRecord(**data) if data else None

    def snapshots(self) -> list[SnapshotRecord]:
        return [SnapshotRecord(**d) for d in self._all("snapshot")]

    def drop_snapshot(self, snapshot_id: str) -> None:
        self._drop("snapshot", snapshot_id)
