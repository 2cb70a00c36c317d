"""Internal API messages of the node controller's instance routes.

    POST /internal/node/instances/run        RunInstance      -> InstanceInfo
    POST /internal/node/instances/terminate  InstanceRef      -> InstanceInfo
    POST /internal/node/instances/reboot     InstanceRef      -> InstanceInfo
    POST /internal/node/instances/describe   InstanceQuery    -> InstanceList
    POST /internal/node/instances/console    ConsoleQuery     -> ConsoleOutput

Callers: cc, clc and admin. Errors: InvalidInstanceID.NotFound (404), IncorrectInstanceState
(409), InsufficientInstanceCapacity (500 as EC2 answers it), InvalidParameterValue (400).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from eucalyptus.nc.root_volume import RootVolume


@dataclass
class NicSpec:
    """The instance's network card: a tap named ``tap`` (made from the instance id when empty)
    is created inside ``netns`` (the node's own VNET_NAMESPACE when it has one) and put on
    ``bridge``, which the node makes if missing with its VNET_PRIVINTERFACE (its
    sub-interface ``.<vlan>`` when ``vlan`` is not 0) enslaved; the guest's NIC gets ``mac``."""
    netns: str
    bridge: str
    mac: str
    tap: str = ""
    vlan: int = 0


@dataclass
class RunInstance:
    """Boot ``kernel`` (+ ``ramdisk``, ``cmdline``) or a copy-on-write overlay of
    ``disk_image`` (a file in the node's image cache, left untouched); an EBS-backed instance
    has ``root_volume`` as its root disk instead (``nc.root_volume``)."""
    instance_id: str
    vcpus: int = 1
    memory_mib: int = 256
    disk_gib: int = 0
    kernel: str = ""
    ramdisk: str = ""
    cmdline: str = ""
    disk_image: str = ""
    disk_format: str = "qcow2"
    nic: NicSpec | None = None
    reservation_id: str = ""
    owner_id: str = ""
    instance_type: str = ""
    root_volume: RootVolume | None = None


@dataclass
class InstanceRef:
    instance_id: str


@dataclass
class InstanceQuery:
    """Instances to describe; empty means all the node knows (terminated ones for a while)."""
    instance_ids: list[str] = field(default_factory=list)


@dataclass
class InstanceInfo:
    """The node's view of one instance. ``state`` is pending, running, shutting-down,
    terminated or stopped (the guest powered itself off); ``reason`` says why."""
    instance_id: str
    state: str
    reason: str = ""
    launched_at: float = 0.0
    changed_at: float = 0.0
    vcpus: int = 0
    memory_mib: int = 0
    disk_gib: int = 0
    mac: str = ""
    netns: str = ""
    tap: str = ""
    reservation_id: str = ""
    owner_id: str = ""
    instance_type: str = ""


@dataclass
class InstanceList:
    instances: list[InstanceInfo]


@dataclass
class ConsoleQuery:
    instance_id: str
    limit: int = 64 * 1024


@dataclass
class ConsoleOutput:
    """The serial console so far, base64-encoded as GetConsoleOutput returns it."""
    instance_id: str
    output: str
    timestamp: float
