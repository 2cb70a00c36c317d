"""Internal API messages by which the cloud controller pushes security groups and public
addresses to the cluster controller, which enforces them (``eucalyptus.cc.vnet.policy``).

    POST /internal/cluster/network/groups/put        SecurityGroups -> PolicyApplied
    POST /internal/cluster/network/groups/delete     GroupIds       -> PolicyApplied
    POST /internal/cluster/network/addresses/put     PublicAddresses -> PolicyApplied
    POST /internal/cluster/network/addresses/delete  PublicIps      -> PolicyApplied

Every call is idempotent. ``complete=True`` means "this is everything": the cluster
controller drops the groups (or address assignments) the message does not name. The
database of the cloud controller is the owner of this state; the cluster controller keeps a
copy under ``DIR/cc/vnet`` so that enforcement survives its restarts.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RuleSpec:
    """One permission of a group.

    ``protocol`` is "tcp", "udp", "icmp", "-1" (all) or an IP protocol number as a string.
    For tcp/udp ``from_port``..``to_port`` is the port range (-1: any); for icmp they are the
    ICMP type and code (-1: any). The rule matches packets coming from (ingress) or going to
    (egress) any of ``cidrs`` or any member of the groups ``groups`` (group ids of any
    account). A rule with neither cidrs nor groups matches nothing.
    """
    protocol: str
    from_port: int = -1
    to_port: int = -1
    cidrs: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


@dataclass
class GroupSpec:
    """A security group as the cluster enforces it."""
    group_id: str
    owner_id: str
    name: str
    ingress: list[RuleSpec] = field(default_factory=list)
    egress: list[RuleSpec] = field(default_factory=list)


@dataclass
class SecurityGroups:
    """Create or replace these groups; with ``complete`` also drop every other group."""
    groups: list[GroupSpec] = field(default_factory=list)
    complete: bool = False


@dataclass
class GroupIds:
    """Drop these groups (absent ones are ignored)."""
    group_ids: list[str] = field(default_factory=list)


@dataclass
class PublicAssignment:
    """1:1 NAT of ``public_ip`` to the private address of ``instance_id``; an empty
    ``instance_id`` keeps the address known but mapped to nothing."""
    public_ip: str
    instance_id: str = ""


@dataclass
class PublicAddresses:
    """Set these assignments; with ``complete`` also drop every other public address."""
    assignments: list[PublicAssignment] = field(default_factory=list)
    complete: bool = False


@dataclass
class PublicIps:
    """Drop these public addresses (absent ones are ignored)."""
    public_ips: list[str] = field(default_factory=list)


@dataclass
class PolicyApplied:
    """The answer to each call: how many groups and public addresses the cluster now holds,
    and whether the rules are enforced in the namespace right now (``enforced`` is False
    while the instance network is unavailable; the state is kept and applied at start)."""
    groups: int
    public_ips: int
    enforced: bool
