"""Private networks of the managed modes: VNET_SUBNET cut into networks of VNET_ADDRSPERNET.

Network ``n`` covers ``VNET_SUBNET + n * VNET_ADDRSPERNET`` for VNET_ADDRSPERNET addresses;
its first usable address is the gateway (held by the cluster controller), instances get the
ones after it up to the address before the broadcast address. As in Eucalyptus, networks 0
and 1 are never given out. Network 2 (``LEGACY_INDEX``) is the network of instances launched
without a security group, so callers that pass no group keep working; every security group
gets the lowest free index from 3 on when its first instance attaches. In MANAGED mode the
index is also the network's VLAN id (bridge ``eucabr<index>``), so there are at most 4095
networks.

Which group holds which index is not kept apart from the instances: it is read from the
address allocations (each records its network index and group), which ``AddressBook``
persists. A group keeps its index while it has an attached instance; after its last
instance detaches, the index is free again.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable

from eucalyptus.cc.vnet.addresses import Allocation, Subnet
from eucalyptus.errors import ClientError

RESERVED = 2            # networks 0 and 1 are never given out
LEGACY_INDEX = 2        # instances without security groups
MAX_VLAN = 4095
LEGACY_GROUP = ""


@dataclass(frozen=True)
class NetworkLayout:
    """How VNET_SUBNET is cut: ``count`` networks of ``size`` addresses each."""
    subnet: ipaddress.IPv4Network
    size: int
    count: int

    @classmethod
    def parse(cls, subnet: str, netmask: str, addrs_per_net: int,
              vlans: bool = False) -> "NetworkLayout":
        """From VNET_SUBNET, VNET_NETMASK and VNET_ADDRSPERNET; ValueError naming the key
        whose value does not fit."""
        network = ipaddress.IPv4Network(f"{subnet}/{netmask}", strict=False)
        if addrs_per_net & (addrs_per_net - 1) or not 8 <= addrs_per_net:
            raise ValueError(f"VNET_ADDRSPERNET={addrs_per_net}: must be a power of two, "
                             "at least 8")
        count = network.num_addresses // addrs_per_net
        if count < RESERVED + 2:
            raise ValueError(f"VNET_NETMASK={netmask}: {network} holds {count} network(s) of "
                             f"VNET_ADDRSPERNET={addrs_per_net} addresses; at least "
                             f"{RESERVED + 2} are needed (0 and 1 are reserved)")
        if vlans:
            count = min(count, MAX_VLAN + 1)
        return cls(network, addrs_per_net, count)

    @property
    def prefixlen(self) -> int:
        return 32 - (self.size.bit_length() - 1)

    def network(self, index: int) -> Subnet:
        """The ``Subnet`` of network ``index`` (gateway first, instances after it)."""
        if not 0 <= index < self.count:
            raise ValueError(f"network index {index} outside 0..{self.count - 1}")
        base = self.subnet.network_address + index * self.size
        return Subnet(ipaddress.IPv4Network(f"{base}/{self.prefixlen}"))

    def index_of(self, address: str) -> int | None:
        """The index of the network holding ``address``, None outside VNET_SUBNET."""
        ip = ipaddress.IPv4Address(address)
        if ip not in self.subnet:
            return None
        return (int(ip) - int(self.subnet.network_address)) // self.size

    @property
    def first_group_index(self) -> int:
        return LEGACY_INDEX + 1


def group_key(groups: list[str] | None) -> str:
    """The group whose network the instance joins: the first of ``groups``, "" for none."""
    return groups[0] if groups else LEGACY_GROUP


def indexes_in_use(allocations: Iterable[Allocation]) -> dict[str, int]:
    """group -> network index, as the allocations record it."""
    return {a.group: a.network for a in allocations}


def choose_index(layout: NetworkLayout, group: str,
                 allocations: Iterable[Allocation]) -> int:
    """The network index of ``group``: the one its attached instances use, else (for a group)
    the lowest free index from 3 on, or LEGACY_INDEX for no group. A ClientError
    ``InsufficientFreeAddressesInSubnet`` when every network is taken."""
    if group == LEGACY_GROUP:
        return LEGACY_INDEX
    used = indexes_in_use(allocations)
    if group in used:
        return used[group]
    taken = set(used.values())
    for index in range(layout.first_group_index, layout.count):
        if index not in taken:
            return index
    raise ClientError("InsufficientFreeAddressesInSubnet",
                      f"all {layout.count - layout.first_group_index} security-group networks "
                      f"of {layout.subnet} are in use; security group {group} gets none")
