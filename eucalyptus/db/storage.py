"""Tables of the EBS API: volumes (with their attachment) and snapshots (with their shares).

A volume row is the cloud controller's record of one ``vol-`` of an account: what was asked
(size, zone, type, the snapshot it came from) and its state as the storage controller last
reported it (creating, available, in-use, deleting, error). A volume attaches to one instance
at a time, so the attachment lives on the volume row: the instance, the device name the user
gave, the attachment state (attaching, attached, detaching; empty when detached), when it was
attached and DeleteOnTermination. The volume's state is "in-use" exactly while
``instance_id`` is set.

A snapshot row is one ``snap-`` of an account, with its progress (0-100) and state (pending,
completed, error) as the storage controller reports them. ``is_public`` is the
createVolumePermission group ``all``; rows of ``snapshot_permissions`` share it with single
accounts.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eucalyptus.db.schema import Base, utcnow


class Volume(Base):
    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)              # vol-...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    size_gib: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[str] = mapped_column(String(32), default="", index=True)
    volume_type: Mapped[str] = mapped_column(String(16), default="standard")
    iops: Mapped[int | None] = mapped_column(Integer, nullable=True)
    throughput: Mapped[int | None] = mapped_column(Integer, nullable=True)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_enable_io: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="creating", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # the attachment (one instance at a time)
    instance_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    device: Mapped[str] = mapped_column(String(64), default="")
    attach_state: Mapped[str] = mapped_column(String(16), default="")
    attached_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)


class Snapshot(Base):
    __tablename__ = "snapshots"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)              # snap-...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    volume_id: Mapped[str] = mapped_column(String(32), index=True)
    volume_size: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SnapshotPermission(Base):
    """Account ``account_id`` may see ``snapshot_id`` and make volumes from it."""
    __tablename__ = "snapshot_permissions"
    snapshot_id: Mapped[str] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"),
                                             primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)
