"""Tables of the EC2 compute API: reservations, instances and resource tags.

A reservation is one RunInstances call of an account (with its ClientToken, security groups
and requester); its instances are rows of ``instances`` carrying the account id too. The
instance row is the cloud controller's record: what was asked (image, type, key, user-data,
kernel/ramdisk), where it runs (node, private address, MAC) and its state as last reported by
the cluster controller, with EC2's state reason and transition reason. Terminated rows stay
until ``cloud.vmstate.terminated_time`` has passed, then they are deleted with their tags.

Tags are generic: one row per (account, resource id, key), whatever kind of resource the id
names, so every account keeps its own tags even on resources others own (public images).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eucalyptus.db.schema import Base, utcnow


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("account_id", "client_token"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)           # r-...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    requester_id: Mapped[str] = mapped_column(String(64), default="")
    client_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    security_groups: Mapped[str] = mapped_column(Text, default="[]")         # JSON [[id, name]]
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)           # i-...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    reservation_id: Mapped[str] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), index=True)
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    image_id: Mapped[str] = mapped_column(String(32))
    kernel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ramdisk_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    instance_type: Mapped[str] = mapped_column(String(32))
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_data: Mapped[str] = mapped_column(Text, default="")                 # base64
    zone: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(16), default="x86_64")
    root_device_name: Mapped[str] = mapped_column(String(64), default="/dev/sda1")
    virtualization_type: Mapped[str] = mapped_column(String(16), default="paravirtual")
    disable_api_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    node: Mapped[str] = mapped_column(String(128), default="")              # host:port
    private_ip: Mapped[str] = mapped_column(String(64), default="")
    mac: Mapped[str] = mapped_column(String(32), default="")
    hostname: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    state_reason: Mapped[str] = mapped_column(Text, default="")              # "Code: message"
    transition_reason: Mapped[str] = mapped_column(Text, default="")
    launched_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ResourceTag(Base):
    __tablename__ = "resource_tags"
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32), index=True)
    value: Mapped[str] = mapped_column(String(256), default="")
