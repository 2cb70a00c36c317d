"""The storage controller's errors, by their EC2 codes (400, the caller's fault, except
InsufficientVolumeCapacity which EC2 answers with 500 / Server).

They keep ``ServiceError``'s constructor (the RPC client rebuilds them from a code and a
message); ``VolumeNotFound.of(id)`` and ``SnapshotNotFound.of(id)`` write EC2's message.
"""
from __future__ import annotations

from eucalyptus.errors import ClientError, ServerError


class VolumeNotFound(ClientError):
    code = "InvalidVolume.NotFound"

    @classmethod
    def of(cls, volume_id: str) -> "VolumeNotFound":
        return cls(f"The volume '{volume_id}' does not exist.")


class SnapshotNotFound(ClientError):
    code = "InvalidSnapshot.NotFound"

    @classmethod
    def of(cls, snapshot_id: str) -> "SnapshotNotFound":
        return cls(f"The snapshot '{snapshot_id}' does not exist.")


class VolumeInUse(ClientError):
    code = "VolumeInUse"


class IncorrectState(ClientError):
    code = "IncorrectState"


class InsufficientVolumeCapacity(ServerError):
    code = "InsufficientVolumeCapacity"
    status = 500
