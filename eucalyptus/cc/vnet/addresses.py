"""Private addresses and MAC addresses of instances, allocated from VNET_SUBNET/VNET_NETMASK.

The first address of the subnet is the gateway (the bridge's address); instances get the
addresses after it, up to the one before the broadcast address. Allocation goes round the
pool from the last address handed out, so a freed address is reused as late as possible (a
guest's old DHCP lease and ARP entries have long expired by then).

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
from dataclasses import asdict, dataclass
from pathlib import Path

from eucalyptus.errors import ClientError, InvalidParameterValue

MAC_PREFIX = "d0:0d"          # Eucalyptus' prefix for instance MAC addresses
STATE_VERSION = 1
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8}([0-9a-f]{9})?")


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
    """One instance's place on the network."""
    instance_id: str
    private_ip: str
    mac: str
    hostname: str


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
        self.cursor = int(subnet.first) - 1        # the last address handed out
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = json.loads(self.path.read_text())
        for item in data.get("allocations", []):
            alloc = Allocation(**item)
            if ipaddress.IPv4Address(alloc.private_ip) in self.subnet.network:
                self.by_instance[alloc.instance_id] = alloc
        cursor = data.get("cursor")
        if cursor and ipaddress.IPv4Address(cursor) in self.subnet.network:
            self.cursor = int(ipaddress.IPv4Address(cursor))

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": STATE_VERSION, "subnet": str(self.subnet.network),
                "cursor": str(ipaddress.IPv4Address(self.cursor)),
                "allocations": [asdict(a) for a in self.all()]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as out:
            json.dump(data, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def all(self) -> list[Allocation]:
        return sorted(self.by_instance.values(),
                      key=lambda a: ipaddress.IPv4Address(a.private_ip))

    def get(self, instance_id: str) -> Allocation | None:
        return self.by_instance.get(instance_id)

    def by_ip(self, private_ip: str) -> Allocation | None:
        return next((a for a in self.by_instance.values() if a.private_ip == private_ip), None)

    def allocate(self, instance_id: str, hostname: str = "") -> Allocation:
        """The instance's allocation, made (and saved) if it has none; an existing one is
        returned unchanged. InsufficientFreeAddressesInSubnet when the pool is used up."""
        check_instance_id(instance_id)
        if hostname:
            check_hostname(hostname)
        existing = self.by_instance.get(instance_id)
        if existing is not None:
            return existing
        used = {int(ipaddress.IPv4Address(a.private_ip)) for a in self.by_instance.values()}
        first, size = int(self.subnet.first), self.subnet.size
        start = (self.cursor + 1 - first) % size
        for step in range(size):
            candidate = first + (start + step) % size
            if candidate not in used:
                break
        else:
            raise ClientError("InsufficientFreeAddressesInSubnet",
                              f"all {size} addresses of {self.subnet.network} are in use")
        ip = str(ipaddress.IPv4Address(candidate))
        mac = make_mac(instance_id, {a.mac for a in self.by_instance.values()})
        alloc = Allocation(instance_id, ip, mac, hostname or default_hostname(ip))
        self.by_instance[instance_id] = alloc
        self.cursor = candidate
        self._save()
        return alloc

    def release(self, instance_id: str) -> Allocation | None:
        """Free the instance's address (saved); None when it had none."""
        alloc = self.by_instance.pop(instance_id, None)
        if alloc is not None:
            self._save()
        return alloc
