"""Public addresses: 1:1 NAT between a public address and an instance's private address.

Pure rendering (``build``, ``render_full``, ``render_changes``, like ``firewall``) plus
``PublicInterface``, which puts the public addresses in use on the public interface.

The table ``ip euca_nat`` holds two maps, ``dnat_of`` (public -> private) and ``snat_of``
(private -> public), and three base chains:

- ``prerouting`` (dstnat): traffic to a public address goes to its instance;
- ``output`` (dstnat): the same for traffic made inside the cloud's namespace (so
  ``ip netns exec <cloud ns> ssh <public ip>`` reaches the instance);
- ``postrouting`` (srcnat): traffic leaving through the public interface from an instance
  with a public address leaves with that address; from any other private address it leaves
  with the interface's own address (masquerade), so replies find their way back.

Moving an address between instances is one transaction of map element updates; connections
already established keep their old translation (conntrack), new ones reach the new instance.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from eucalyptus.drivers.network.base import NetworkBackend

TABLE = "euca_nat"
PREFIX = f"ip {TABLE}"


@dataclass
class NatTable:
    """The content of the NAT table as data."""
    interface: str
    private_networks: tuple[str, ...] = ()
    dnat: dict[str, str] = field(default_factory=dict)     # public -> private
    snat: dict[str, str] = field(default_factory=dict)     # private -> public


def build(interface: str, private_networks: list[str] | tuple[str, ...],
          mappings: dict[str, str]) -> NatTable:
    """The table for ``mappings`` (public -> private address of an attached instance).
    When several public addresses map to one instance, its outbound traffic leaves with the
    lowest of them; every one of them reaches it."""
    snat: dict[str, str] = {}
    for public in sorted(mappings, key=ipaddress.IPv4Address):
        snat.setdefault(mappings[public], public)
    nets = tuple(str(ipaddress.IPv4Network(n, strict=False)) for n in private_networks)
    return NatTable(interface, nets, dict(mappings), snat)


def _pairs(items: dict[str, str]) -> str:
    return ", ".join(f"{k} : {v}" for k, v in
                     sorted(items.items(), key=lambda kv: ipaddress.IPv4Address(kv[0])))


def _keys(items) -> str:
    return ", ".join(sorted(items, key=ipaddress.IPv4Address))


def render_full(table: NatTable) -> str:
    """nft text replacing the whole NAT table in one transaction."""
    out = [f"add table {PREFIX}", f"delete table {PREFIX}", f"add table {PREFIX}",
           f"add map {PREFIX} dnat_of {{ type ipv4_addr : ipv4_addr; }}",
           f"add map {PREFIX} snat_of {{ type ipv4_addr : ipv4_addr; }}"]
    for name, items in (("dnat_of", table.dnat), ("snat_of", table.snat)):
        if items:
            out.append(f"add element {PREFIX} {name} {{ {_pairs(items)} }}")
    for chain, hook, priority in (("prerouting", "prerouting", "dstnat"),
                                  ("output", "output", "-100"),
                                  ("postrouting", "postrouting", "srcnat")):
        out.append(f"add chain {PREFIX} {chain} {{ type nat hook {hook} priority {priority}; "
                   "policy accept; }")
    out += [f"add rule {PREFIX} prerouting dnat to ip daddr map @dnat_of",
            f"add rule {PREFIX} output dnat to ip daddr map @dnat_of",
            f'add rule {PREFIX} postrouting oifname "{table.interface}" '
            "snat to ip saddr map @snat_of"]
    if table.private_networks:
        out.append(f'add rule {PREFIX} postrouting oifname "{table.interface}" '
                   f"ip saddr {{ {', '.join(table.private_networks)} }} masquerade")
    return "\n".join(out) + "\n"


def render_changes(old: NatTable, new: NatTable) -> str | None:
    """One transaction of element updates turning ``old`` into ``new``; "" when equal. A
    change of interface or private networks needs ``render_full`` (None is returned)."""
    if (old.interface, old.private_networks) != (new.interface, new.private_networks):
        return None
    out = []
    for name, before, after in (("dnat_of", old.dnat, new.dnat),
                                ("snat_of", old.snat, new.snat)):
        gone = [k for k, v in before.items() if after.get(k) != v]
        came = {k: v for k, v in after.items() if before.get(k) != v}
        if gone:
            out.append(f"delete element {PREFIX} {name} {{ {_keys(gone)} }}")
        if came:
            out.append(f"add element {PREFIX} {name} {{ {_pairs(came)} }}")
    return "\n".join(out) + "\n" if out else ""


class PublicInterface:
    """The interface of the cloud's namespace facing the public network.

    ``ensure()`` makes it a bridge holding ``address`` (VNET_PUBLIC_ADDRESS) when it does not
    exist (cloud-in-a-box); an existing interface is used as it is. ``publish(addresses)``
    makes the public /32 addresses on it exactly ``addresses`` among the ones this cloud
    manages (``managed``): the others are removed, anything else on the interface is kept.
    """

    def __init__(self, backend: NetworkBackend, ns: str, name: str, address: str):
        self.backend, self.ns, self.name, self.address = backend, ns, name, address

    def ensure(self) -> None:
        if self.name not in self.backend.link_names(self.ns):
            self.backend.ensure_bridge(self.ns, self.name, self.address)

    def publish(self, addresses: set[str], managed: set[str]) -> None:
        have = {a for a in self.backend.addresses_of(self.ns, self.name)
                if a.endswith("/32")}
        want = {f"{a}/32" for a in addresses}
        own = {f"{a}/32" for a in managed} | want
        for cidr in sorted(have & own - want):
            self.backend.remove_address(self.ns, self.name, cidr)
        for cidr in sorted(want - have):
            self.backend.add_address(self.ns, self.name, cidr)
