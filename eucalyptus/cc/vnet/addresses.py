"""Private addresses and MAC addresses of instances, allocated from VNET_SUBNET/VNET_NETMASK.

The first address of a network is the gateway (the bridge's address); instances get the
addresses after it, up to the one before the broadcast address. Allocation goes round each
network's pool from the last address handed out there, so a freed address is reused as late
as possible (a guest's old DHCP lease and ARP entries have long expired by then).

One book holds the allocations of every network of the cloud: each ``Allocation`` records the
index of its network and the security group that chose it (``eucalyptus.cc.vnet.networks``).
In STATIC mode the pool is VNET_MACMAP's fixed MAC=IP pairs instead, and in SYSTEM mode an
allocation has a MAC but no address until the cluster controller learns it
(``set_address``).

The allocation is the one piece of network state that must survive a cluster-controller
restart: ``AddressBook`` keeps it in a JSON file written atomically (temp file, fsync,
rename) before ``allocate`` or ``release`` returns, so an address is never handed out twice.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

from eucalyptus.errors import ClientError, InvalidParameterValue

MAC_PREFIX = "d0:0d"          # Eucalyptus' prefix for instance MAC addresses
STATE_VERSION = 1
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8}([0-9a-f]{9})?")


def save_json(path: Path, data) -> None:
    """Write ``data`` as the JSON file ``path`` (directories made), durably and atomically:
    a reader finds the old content or the new, never part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as out:
        json.dump(data, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class Subnet:
    """The instances' private network: gateway first, instances after it."""
    network: ipaddress.IPv4Network

    @classmethod
    def parse(cls, subnet: str, netmask: str) -> "Subnet":
        """From VNET_SUBNET and VNET_NETMASK; ValueError when it cannot hold an instance."""
        network = ipaddress.IPv4Network(f"{subnet}/{netmask}", strict=False)
        if network.prefixlen > 29:
            raise ValueError(f"{network} is too small: the netmask must be /29 or wider")
        return cls(network)

    @property
    def gateway(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def netmask(self) -> str:
        return str(self.network.netmask)

    @property
    def prefixlen(self) -> int:
        return self.network.prefixlen

    @property
    def gateway_cidr(self) -> str:
        return f"{self.gateway}/{self.prefixlen}"

    @property
    def first(self) -> ipaddress.IPv4Address:
        return self.network.network_address + 2

    @property
    def last(self) -> ipaddress.IPv4Address:
        return self.network.broadcast_address - 1

    @property
    def size(self) -> int:
        """How many instance addresses the subnet holds."""
        return int(self.last) - int(self.first) + 1


@dataclass(frozen=True)
class Allocation:
    """One instance's place on the network: ``network`` is the index of its private network
    (0 outside the managed modes), ``group`` the security group that chose it ("" none);
    ``private_ip`` is "" while unknown (SYSTEM mode)."""
    instance_id: str
    private_ip: str
    mac: str
    hostname: str
    network: int = 0
    group: str = ""


def _ip_order(alloc: Allocation) -> tuple[int, int]:
    return (1, 0) if not alloc.private_ip else (0, int(ipaddress.IPv4Address(alloc.private_ip)))


def default_hostname(private_ip: str) -> str:
    """Eucalyptus' private host name for an address: ``euca-10-77-0-5``."""
    return "euca-" + private_ip.replace(".", "-")


def make_mac(instance_id: str, taken: set[str]) -> str:
    """A MAC for ``instance_id`` not in ``taken``: ``d0:0d`` then the id's 8 hex digits as
    Eucalyptus does for short ids, otherwise (or on a clash) 4 bytes of a hash of the id."""
    hexid = instance_id[2:] if INSTANCE_ID.fullmatch(instance_id) else ""
    candidates = [hexid[:8]] if len(hexid) == 8 else []
    candidates += [hashlib.sha256(f"{instance_id}/{n}".encode()).hexdigest()[:8]
                   for n in range(64)]
    for digits in candidates:
        mac = ":".join([MAC_PREFIX, *(digits[i:i + 2] for i in range(0, 8, 2))])
        if mac not in taken:
            return mac
    raise RuntimeError(f"no free MAC address for {instance_id}")   # 64 clashes: impossible


def check_instance_id(instance_id: str) -> str:
    if not isinstance(instance_id, str) or not INSTANCE_ID.fullmatch(instance_id):
        raise InvalidParameterValue(f"bad instance id {instance_id!r}")
    return instance_id


def check_hostname(hostname: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", hostname):
        raise InvalidParameterValue(f"bad host name {hostname!r}: one DNS label expected")
    return hostname


class AddressBook:
    """Allocations of one subnet, persisted in ``path``."""

    def __init__(self, subnet: Subnet, path: Path):
        self.subnet = subnet
        self.path = Path(path)
        self.by_instance: dict[str, Allocation] = {}
        self.cursors: dict[int, int] = {}          # network -> the last address handed out
        self._load()

    @property
    def cursor(self) -> int:
        return self.cursors.get(0, int(self.subnet.first) - 1)

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = json.loads(self.path.read_text())
        for item in data.get("allocations", []):
            alloc = Allocation(**item)
            if not alloc.private_ip or \
                    ipaddress.IPv4Address(alloc.private_ip) in self.subnet.network:
                self.by_instance[alloc.instance_id] = alloc
        cursors = dict(data.get("cursors", {}))
        if data.get("cursor"):                      # files written before networks existed
            cursors.setdefault("0", data["cursor"])
        for network, cursor in cursors.items():
            if ipaddress.IPv4Address(cursor) in self.subnet.network:
                self.cursors[int(network)] = int(ipaddress.IPv4Address(cursor))

    def _save(self) -> None:
        save_json(self.path, {
            "version": STATE_VERSION, "subnet": str(self.subnet.network),
            "cursors": {str(n): str(ipaddress.IPv4Address(c))
                        for n, c in sorted(self.cursors.items())},
            "allocations": [asdict(a) for a in self.all()]})

    def all(self) -> list[Allocation]:
        return sorted(self.by_instance.values(), key=_ip_order)

    def get(self, instance_id: str) -> Allocation | None:
        return self.by_instance.get(instance_id)

    def by_ip(self, private_ip: str) -> Allocation | None:
        if not private_ip:
            return None
        return next((a for a in self.by_instance.values() if a.private_ip == private_ip), None)

    def by_mac(self, mac: str) -> Allocation | None:
        return next((a for a in self.by_instance.values() if a.mac == mac), None)

    def in_network(self, network: int) -> list[Allocation]:
        return [a for a in self.all() if a.network == network]

    def allocate(self, instance_id: str, hostname: str = "", *, subnet: Subnet | None = None,
                 network: int = 0, group: str = "",
                 fixed: Sequence[tuple[str, str]] | None = None,
                 addressless: bool = False) -> Allocation:
        """The instance's allocation, made (and saved) if it has none; an existing one is
        returned unchanged. The address comes from ``subnet`` (network ``network``; the
        book's whole subnet by default), from the MAC=IP pairs ``fixed`` (STATIC), or is
        left empty with ``addressless`` (SYSTEM). InsufficientFreeAddressesInSubnet when the
        pool is used up."""
        check_instance_id(instance_id)
        if hostname:
            check_hostname(hostname)
        existing = self.by_instance.get(instance_id)
        if existing is not None:
            return existing
        macs = {a.mac for a in self.by_instance.values()}
        if fixed is not None:
            ip, mac = self._pick_fixed(fixed, network)
        elif addressless:
            ip, mac = "", make_mac(instance_id, macs)
        else:
            ip = self._pick(subnet or self.subnet, network)
            mac = make_mac(instance_id, macs)
        alloc = Allocation(instance_id, ip, mac,
                           hostname or (default_hostname(ip) if ip else ""), network, group)
        self.by_instance[instance_id] = alloc
        if ip:
            self.cursors[network] = int(ipaddress.IPv4Address(ip))
        self._save()
        return alloc

    def _used(self) -> set[int]:
        return {int(ipaddress.IPv4Address(a.private_ip)) for a in self.by_instance.values()
                if a.private_ip}

    def _pick(self, subnet: Subnet, network: int) -> str:
        used = self._used()
        first, size = int(subnet.first), subnet.size
        cursor = self.cursors.get(network, first - 1)
        start = (cursor + 1 - first) % size
        for step in range(size):
            candidate = first + (start + step) % size
            if candidate not in used:
                return str(ipaddress.IPv4Address(candidate))
        raise ClientError("InsufficientFreeAddressesInSubnet",
                          f"all {size} addresses of {subnet.network} are in use")

    def _pick_fixed(self, fixed: Sequence[tuple[str, str]], network: int) -> tuple[str, str]:
        used, macs = self._used(), {a.mac for a in self.by_instance.values()}
        pairs = sorted(fixed, key=lambda p: int(ipaddress.IPv4Address(p[1])))
        cursor = self.cursors.get(network, -1)
        ordered = ([p for p in pairs if int(ipaddress.IPv4Address(p[1])) > cursor]
                   + [p for p in pairs if int(ipaddress.IPv4Address(p[1])) <= cursor])
        for mac, ip in ordered:
            if int(ipaddress.IPv4Address(ip)) not in used and mac not in macs:
                return ip, mac
        raise ClientError("InsufficientFreeAddressesInSubnet",
                          f"all {len(pairs)} MAC=IP pairs of VNET_MACMAP are in use")

    def set_address(self, instance_id: str, private_ip: str) -> Allocation | None:
        """Record the address learned for an addressless allocation (saved); the updated
        allocation, or None when the instance has none. An address another instance holds is
        refused with InvalidParameterValue."""
        alloc = self.by_instance.get(instance_id)
        if alloc is None or alloc.private_ip == private_ip:
            return alloc
        holder = self.by_ip(private_ip)
        if holder is not None and holder.instance_id != instance_id:
            raise InvalidParameterValue(f"{private_ip} is held by {holder.instance_id}")
        alloc = replace(alloc, private_ip=private_ip,
                        hostname=alloc.hostname or default_hostname(private_ip))
        self.by_instance[instance_id] = alloc
        self._save()
        return alloc

    def release(self, instance_id: str) -> Allocation | None:
        """Free the instance's address (saved); None when it had none."""
        alloc = self.by_instance.pop(instance_id, None)
        if alloc is not None:
            self._save()
        return alloc
