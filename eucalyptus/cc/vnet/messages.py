"""Internal API messages of the cluster controller's instance network.

    POST /internal/cluster/network/attach   NetworkRequest -> NetworkAttachment
    POST /internal/cluster/network/detach   InstanceRef    -> Released
    POST /internal/cluster/metadata/put     MetadataRegistration -> InstanceRef
    POST /internal/cluster/metadata/delete  InstanceRef    -> Released
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NetworkRequest:
    """Give ``instance_id`` a place on the network (idempotent); ``hostname`` is the DHCP
    host name, Eucalyptus' ``euca-A-B-C-D`` when empty. ``groups`` are its security group
    ids: in the managed modes the FIRST one's private network is the one it joins (none: the
    legacy network 2). ``owner_id`` is the instance's account."""
    instance_id: str
    hostname: str = ""
    groups: list[str] = field(default_factory=list)
    owner_id: str = ""


@dataclass
class NetworkAttachment:
    """Where the instance plugs in: its NIC gets ``mac`` and a tap on ``bridge`` inside
    ``netns`` (a node with its own VNET_NAMESPACE uses that instead, making ``bridge`` there
    with VNET_PRIVINTERFACE, or its sub-interface ``.<vlan>`` when ``vlan`` is not 0, as the
    uplink); DHCP then hands it ``private_ip``/``prefixlen`` with ``gateway`` as router. In
    SYSTEM mode ``private_ip``, ``gateway`` and ``netmask`` are "" (someone else's DHCP gives
    the address; the cluster learns it later)."""
    instance_id: str
    netns: str
    bridge: str
    mac: str
    private_ip: str
    gateway: str
    netmask: str
    prefixlen: int
    hostname: str
    vlan: int = 0


@dataclass
class InstanceRef:
    instance_id: str


@dataclass
class Released:
    """``released`` tells whether there was something to release."""
    instance_id: str
    released: bool


@dataclass
class MetadataRegistration:
    """What the metadata service answers to ``private_ip``: ``document`` as described in
    ``eucalyptus.cc.vnet.metadata_tree``."""
    instance_id: str
    private_ip: str
    document: dict[str, Any] = field(default_factory=dict)
