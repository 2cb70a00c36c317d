"""Tables of the EC2 network API: security groups, their rules, and public addresses.

A security group belongs to one account (``default`` is made lazily with the stable id
``services.ec2.instances.default_group_id`` gives). Each rule is one row, as EC2's
security-group rules (``sgr-``) are: one direction, one protocol and port range, and ONE
source — a CIDR (``cidr``, "" when the source is a group) or another group
(``source_group_id``, any account's; NULL for a CIDR rule; the rule goes when that group goes
with its account). Ports are -1 where they do not apply. The API refuses duplicate rules.

A public address row exists while the address is taken from the pool VNET_PUBLICIPS: allocated
by an account (AllocateAddress) or given automatically to an instance at launch
(``auto_assigned``; the account is then the instance's). ``instance_id`` and
``association_id`` are set while the address is associated.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eucalyptus.db.schema import Base, utcnow


class SecurityGroup(Base):
    __tablename__ = "security_groups"
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)               # sg-...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SecurityGroupRule(Base):
    __tablename__ = "security_group_rules"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)               # sgr-...
    group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)                         # group's owner
    is_egress: Mapped[bool] = mapped_column(Boolean, default=False)
    protocol: Mapped[str] = mapped_column(String(8))             # tcp udp icmp -1 or a number
    from_port: Mapped[int] = mapped_column(Integer, default=-1)
    to_port: Mapped[int] = mapped_column(Integer, default=-1)
    cidr: Mapped[str] = mapped_column(String(64), default="")
    source_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=True, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PublicAddress(Base):
    __tablename__ = "public_addresses"
    public_ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    allocation_id: Mapped[str] = mapped_column(String(32), unique=True)         # eipalloc-...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    domain: Mapped[str] = mapped_column(String(16), default="standard")         # standard|vpc
    auto_assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    instance_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    association_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    allocated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
