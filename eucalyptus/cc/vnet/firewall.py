"""Security groups as nftables rules: the filter table of the cloud's namespace.

Pure functions, no host access. ``build(groups, members)`` turns the groups the cloud
controller pushed and the instances attached to the cluster into a ``Ruleset`` (plain data);
``render_full`` gives the ``nft -f`` text that replaces the whole table in one transaction and
``render_changes(old, new)`` the smallest transaction that turns ``old`` into ``new``: a rule
change flushes and refills only the changed group's chain, an instance joining or leaving only
updates set and map elements (and its own small chain).

The table ``inet euca_filter`` holds, for a group G and an instance I:

- set ``m_G``: the private and public addresses of G's members (group sources match it);
- chain ``gi_G``: G's ingress rules, first of all "from a member of G: accept";
- chain ``ge_G``: G's egress rules, first of all "to a member of G: accept";
- chain ``ii_I``: ``jump gi_G`` for each of I's groups, then ``drop`` (ingress is denied
  unless a group allows it; an instance without groups gets no ingress at all);
- chain ``ie_I``: the same for egress (only for instances that have groups);
- verdict maps ``ingress_of`` (private address -> ``jump ii_I``) and ``egress_of``;
- base chains on the forward hook: ``egress`` (priority -10) then ``ingress`` (priority 0);
  both let established/related traffic pass and drop invalid packets. An ``accept`` ends only
  its own base chain, so a packet must pass both: the sender's egress and the receiver's
  ingress. Destination NAT (elastic IPs) happens before the forward hook, so traffic to a
  public address is filtered by the private address it reaches.

Egress follows the rules as given: a group's default rule "all to 0.0.0.0/0" makes egress
open; a group whose egress rules are narrower restricts it to the union over the instance's
groups. The br_netfilter hook makes instance-to-instance traffic on one bridge pass here too.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from eucalyptus.cc.vnet.policy_messages import GroupSpec, RuleSpec
from eucalyptus.errors import InvalidParameterValue

FAMILY = "inet"
TABLE = "euca_filter"
GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8}([0-9a-f]{9})?")
PROTOCOL_NAMES = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "all": -1, "-1": -1}
ICMP_PROTOCOLS = {1: "icmp", 58: "icmpv6"}
PORT_PROTOCOLS = {6: "tcp", 17: "udp"}
BASE_CHAINS = {
    # name: (hook priority, map consulted, address matched)
    "egress": (-10, "egress_of", "saddr"),
    "ingress": (0, "ingress_of", "daddr"),
}


@dataclass(frozen=True)
class Member:
    """An attached instance as the firewall sees it."""
    instance_id: str
    private_ip: str
    public_ip: str = ""
    groups: tuple[str, ...] = ()


@dataclass
class Ruleset:
    """The content of the filter table as data: address sets, regular chains (their rule
    lines) and the two verdict maps (address -> chain jumped to)."""
    sets: dict[str, frozenset[str]] = field(default_factory=dict)
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    maps: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"ingress_of": {}, "egress_of": {}})


# -- validation ------------------------------------------------------------------------------

def check_group_id(group_id: str) -> str:
    if not isinstance(group_id, str) or not GROUP_ID.fullmatch(group_id):
        raise InvalidParameterValue(f"bad security group id {group_id!r}")
    return group_id


def check_address(address: str, what: str = "address") -> str:
    try:
        return str(ipaddress.IPv4Address(address))
    except ValueError:
        raise InvalidParameterValue(f"bad {what} {address!r}: an IPv4 address expected") from None


def protocol_number(protocol: str) -> int:
    """-1 for all protocols, else the IP protocol number; InvalidParameterValue if unknown."""
    text = str(protocol).strip().lower()
    if text in PROTOCOL_NAMES:
        return PROTOCOL_NAMES[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return int(text)
    raise InvalidParameterValue(f"bad protocol {protocol!r}: tcp, udp, icmp, -1 or a number")


def _check_rule(rule: RuleSpec) -> RuleSpec:
    number = protocol_number(rule.protocol)
    if number in PORT_PROTOCOLS:
        low, high = rule.from_port, rule.to_port
        if not (low == high == -1 or 0 <= low <= high <= 65535):
            raise InvalidParameterValue(f"bad port range {low}-{high} for {rule.protocol}")
    elif number in ICMP_PROTOCOLS:
        if not -1 <= rule.from_port <= 255 or not -1 <= rule.to_port <= 255:
            raise InvalidParameterValue(
                f"bad ICMP type/code {rule.from_port}/{rule.to_port} (-1 or 0-255)")
    cidrs = []
    for cidr in rule.cidrs:
        try:
            cidrs.append(str(ipaddress.ip_network(cidr, strict=False)))
        except ValueError:
            raise InvalidParameterValue(f"bad CIDR {cidr!r}") from None
    groups = [check_group_id(g) for g in rule.groups]
    return RuleSpec(str(number), rule.from_port, rule.to_port, cidrs, groups)


def check_group(spec: GroupSpec) -> GroupSpec:
    """``spec`` validated and normalised (protocol numbers, canonical CIDRs);
    InvalidParameterValue for anything the firewall cannot enforce exactly."""
    check_group_id(spec.group_id)
    return GroupSpec(spec.group_id, str(spec.owner_id), str(spec.name),
                     [_check_rule(r) for r in spec.ingress],
                     [_check_rule(r) for r in spec.egress])


# -- names -----------------------------------------------------------------------------------

def _ident(resource_id: str) -> str:
    return resource_id.replace("-", "_")


def members_set(group_id: str) -> str:
    return "m_" + _ident(group_id)


def group_chain(group_id: str, direction: str) -> str:
    return ("gi_" if direction == "ingress" else "ge_") + _ident(group_id)


def instance_chain(instance_id: str, direction: str) -> str:
    return ("ii_" if direction == "ingress" else "ie_") + _ident(instance_id)


# -- rules -----------------------------------------------------------------------------------

def _protocol_match(rule: RuleSpec) -> str:
    number = int(rule.protocol)
    if number == -1:
        return ""
    if number in PORT_PROTOCOLS:
        name = PORT_PROTOCOLS[number]
        low, high = rule.from_port, rule.to_port
        if low == -1 or (low == 0 and high == 65535):
            return f"meta l4proto {name}"
        return f"{name} dport {low}" if low == high else f"{name} dport {low}-{high}"
    if number in ICMP_PROTOCOLS:
        name = ICMP_PROTOCOLS[number]
        if rule.from_port == -1:
            return f"meta l4proto {'ipv6-icmp' if number == 58 else 'icmp'}"
        match = f"{name} type {rule.from_port}"
        return match if rule.to_port == -1 else f"{match} {name} code {rule.to_port}"
    return f"meta l4proto {number}"


def _peer_matches(rule: RuleSpec, field_name: str) -> list[str]:
    """One match per kind of peer: IPv4 CIDRs, IPv6 CIDRs, each source group. An empty
    string means "any address"."""
    out = []
    for version, family in ((4, "ip"), (6, "ip6")):
        nets = [ipaddress.ip_network(c) for c in rule.cidrs]
        nets = list(ipaddress.collapse_addresses(n for n in nets if n.version == version))
        if not nets:
            continue
        if version == 4 and nets[0].prefixlen == 0:
            out.append("")
            continue
        items = ", ".join(str(n.network_address) if n.num_addresses == 1 else str(n)
                          for n in nets)
        out.append(f"{family} {field_name} {{ {items} }}")
    out += [f"ip {field_name} @{members_set(g)}" for g in dict.fromkeys(rule.groups)]
    return out


def rule_lines(rule: RuleSpec, direction: str) -> list[str]:
    """The nft rule lines of one validated permission (``direction``: ingress or egress)."""
    field_name = "saddr" if direction == "ingress" else "daddr"
    proto = _protocol_match(rule)
    lines = []
    for peer in _peer_matches(rule, field_name):
        words = " ".join(w for w in (peer, proto, "accept") if w)
        if words not in lines:
            lines.append(words)
    return lines


def group_rules(spec: GroupSpec | None, group_id: str, direction: str) -> tuple[str, ...]:
    """The lines of a group's chain: its members first, then its permissions in order."""
    field_name = "saddr" if direction == "ingress" else "daddr"
    lines = [f"ip {field_name} @{members_set(group_id)} accept"]
    for rule in (spec.ingress if direction == "ingress" else spec.egress) if spec else []:
        lines += [line for line in rule_lines(rule, direction) if line not in lines]
    return tuple(lines)


# -- the whole table -------------------------------------------------------------------------

def referenced_groups(groups: dict[str, GroupSpec], members: list[Member]) -> set[str]:
    """Every group id the table needs a set for: known groups, members' groups, sources."""
    ids = set(groups)
    for m in members:
        ids.update(m.groups)
    for spec in groups.values():
        for rule in [*spec.ingress, *spec.egress]:
            ids.update(rule.groups)
    return ids


def build(groups: dict[str, GroupSpec], members: list[Member]) -> Ruleset:
    """The filter table for validated ``groups`` (by id) and the attached ``members``."""
    rs = Ruleset()
    ids = referenced_groups(groups, members)
    addresses: dict[str, set[str]] = {g: set() for g in ids}
    for m in members:
        for g in m.groups:
            addresses[g].update(a for a in (m.private_ip, m.public_ip) if a)
    rs.sets = {members_set(g): frozenset(addresses[g]) for g in sorted(ids)}
    used = {g for m in members for g in m.groups}
    for g in sorted(ids):
        if g in groups or g in used:
            for direction in ("ingress", "egress"):
                rs.chains[group_chain(g, direction)] = group_rules(groups.get(g), g, direction)
    for m in sorted(members, key=lambda m: m.instance_id):
        order = tuple(dict.fromkeys(m.groups))
        for direction in ("ingress", "egress"):
            if direction == "egress" and not order:
                continue
            chain = instance_chain(m.instance_id, direction)
            rs.chains[chain] = tuple(f"jump {group_chain(g, direction)}" for g in order) + ("drop",)
            rs.maps[f"{direction}_of"][m.private_ip] = chain
    return rs


def _prefix() -> str:
    return f"{FAMILY} {TABLE}"


def _elements(values) -> str:
    return ", ".join(sorted(values, key=_address_key))


def _address_key(value: str):
    try:
        return (0, int(ipaddress.IPv4Address(value.split(" ")[0])), value)
    except ValueError:
        return (1, 0, value)


def _fill_chain(name: str, lines: tuple[str, ...]) -> list[str]:
    return [f"add rule {_prefix()} {name} {line}" for line in lines]


def _map_elements(command: str, name: str, items: dict[str, str]) -> list[str]:
    if not items:
        return []
    if command == "delete":
        return [f"delete element {_prefix()} {name} {{ {_elements(items)} }}"]
    text = _elements(f"{k} : jump {v}" for k, v in items.items())
    return [f"add element {_prefix()} {name} {{ {text} }}"]


def render_full(rs: Ruleset) -> str:
    """nft text replacing the whole table in one transaction (declarations before uses, one
    command per line, so no rule ever shares a line with a closing brace)."""
    p = _prefix()
    out = [f"add table {p}", f"delete table {p}", f"add table {p}"]
    out += [f"add set {p} {name} {{ type ipv4_addr; }}" for name in rs.sets]
    out += [f"add chain {p} {name}" for name in rs.chains]
    out += [f"add map {p} {name} {{ type ipv4_addr : verdict; }}" for name in rs.maps]
    for name, values in rs.sets.items():
        if values:
            out.append(f"add element {p} {name} {{ {_elements(values)} }}")
    for name, lines in rs.chains.items():
        out += _fill_chain(name, lines)
    for name, items in rs.maps.items():
        out += _map_elements("add", name, items)
    for name, (priority, vmap, field_name) in BASE_CHAINS.items():
        out += [f"add chain {p} {name} {{ type filter hook forward priority {priority}; "
                "policy accept; }",
                f"add rule {p} {name} ct state established,related accept",
                f"add rule {p} {name} ct state invalid drop",
                f"add rule {p} {name} ip {field_name} vmap @{vmap}"]
    return "\n".join(out) + "\n"


def render_changes(old: Ruleset, new: Ruleset) -> str:
    """The one transaction turning table ``old`` (as applied) into ``new``; "" if equal.

    Order: new sets and chains are declared, set elements added, changed chains flushed and
    refilled, map elements swapped, stale set elements removed, then stale chains and sets
    deleted (nothing refers to them by then)."""
    p = _prefix()
    out = [f"add set {p} {n} {{ type ipv4_addr; }}" for n in new.sets if n not in old.sets]
    out += [f"add chain {p} {n}" for n in new.chains if n not in old.chains]
    for name, values in new.sets.items():
        added = values - old.sets.get(name, frozenset())
        if added:
            out.append(f"add element {p} {name} {{ {_elements(added)} }}")
    for name, lines in new.chains.items():
        if old.chains.get(name) != lines:
            if name in old.chains:
                out.append(f"flush chain {p} {name}")
            out += _fill_chain(name, lines)
    for name, items in new.maps.items():
        before = old.maps.get(name, {})
        out += _map_elements("delete", name, {k: v for k, v in before.items()
                                               if items.get(k) != v})
        out += _map_elements("add", name, {k: v for k, v in items.items()
                                           if before.get(k) != v})
    for name, values in old.sets.items():
        gone = values - new.sets[name] if name in new.sets else frozenset()
        if gone:
            out.append(f"delete element {p} {name} {{ {_elements(gone)} }}")
    stale = [n for n in old.chains if n not in new.chains]
    out += [f"flush chain {p} {n}" for n in stale]
    out += [f"delete chain {p} {n}" for n in stale]
    out += [f"delete set {p} {n}" for n in old.sets if n not in new.sets]
    return "\n".join(out) + "\n" if out else ""
