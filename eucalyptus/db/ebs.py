"""Tables of EBS-backed images and instances: block device mappings.

``image_block_devices`` holds the block device mapping of an image, one row per device name:
an EBS device made from ``snapshot_id`` (or an empty volume of ``volume_size`` GiB), an
instance-store ``virtual_name`` (ephemeral0...) or ``no_device`` (the device is suppressed).
An image is EBS-backed exactly when the mapping of its root device name has a snapshot.

``instance_block_devices`` holds the EBS devices of an instance, one row per device name: the
volume made for it, whether it is the root device, and ``plug_pending`` while the volume still
has to be plugged into the running guest (a non-root volume made at launch, or any non-root
volume of an instance that was stopped and started again). The rows outlive the volumes (a
terminated instance still says its root device type was "ebs") and go with the instance's
record. Both tables carry the owner's account id.
"""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eucalyptus.db.schema import Base


class ImageBlockDevice(Base):
    __tablename__ = "image_block_devices"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    device_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    snapshot_id: Mapped[str] = mapped_column(String(32), default="", index=True)
    volume_size: Mapped[int] = mapped_column(Integer, default=0)            # GiB, 0: snapshot's
    volume_type: Mapped[str] = mapped_column(String(16), default="standard")
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=True)
    virtual_name: Mapped[str] = mapped_column(String(32), default="")
    no_device: Mapped[bool] = mapped_column(Boolean, default=False)


class InstanceBlockDevice(Base):
    __tablename__ = "instance_block_devices"
    instance_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    volume_id: Mapped[str] = mapped_column(String(32), index=True)
    is_root: Mapped[bool] = mapped_column(Boolean, default=False)
    plug_pending: Mapped[bool] = mapped_column(Boolean, default=False)
