"""The Cloud Controller's tables. Every user resource row carries its ``account_id``.

Identity follows IAM with Eucalyptus' accounts on top: an account has a root user named
``admin`` (``is_root``), other users, groups, access keys, inline policies (on users and
groups) and managed policies with versions and attachments. Temporary credentials from STS are
access keys with a ``session_token`` and an ``expires_at``. Cloud properties (Eucalyptus' euctl)
are name/value rows.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    is_root: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    account: Mapped[Account] = relationship()


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class AccessKey(Base):
    __tablename__ = "access_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)        # AKIA... / ASIA...
    secret: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_service: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_used_region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    session_token: Mapped[str | None] = mapped_column(Text, nullable=True, unique=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    user: Mapped[User] = relationship()


class InlinePolicy(Base):
    """A policy document embedded in one user or group (PutUserPolicy / PutGroupPolicy)."""
    __tablename__ = "inline_policies"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(8))                   # "user" | "group"
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    document: Mapped[str] = mapped_column(Text)


class ManagedPolicy(Base):
    __tablename__ = "managed_policies"
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)        # ANPA...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    description: Mapped[str] = mapped_column(Text, default="")
    default_version: Mapped[str] = mapped_column(String(8), default="v1")
    next_version: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PolicyVersion(Base):
    __tablename__ = "policy_versions"
    policy_id: Mapped[str] = mapped_column(ForeignKey("managed_policies.id", ondelete="CASCADE"),
                                           primary_key=True)
    version_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PolicyAttachment(Base):
    __tablename__ = "policy_attachments"
    policy_id: Mapped[str] = mapped_column(ForeignKey("managed_policies.id", ondelete="CASCADE"),
                                           primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "user" | "group"
    owner_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class CloudProperty(Base):
    """A cloud property as Eucalyptus' euctl shows it, e.g. ``cloud.vmstate.instance_timeout``."""
    __tablename__ = "cloud_properties"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class InstanceType(Base):
    """An instance type offered in every zone: Eucalyptus' m1.small and friends, t2/t3 too."""
    __tablename__ = "instance_types"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    disk_gib: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
