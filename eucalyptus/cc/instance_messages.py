"""Internal API messages of the cluster controller's instance routes (callers clc, admin).

    POST /internal/cluster/nodes/keys          -> NodeKeys        image keys of the up nodes
    POST /internal/cluster/instances/run       LaunchRequest -> LaunchReply
    POST /internal/cluster/instances/describe  InstanceIds   -> InstanceViews
    POST /internal/cluster/instances/terminate InstanceIds   -> InstanceViews
    POST /internal/cluster/instances/reboot    InstanceIds   -> InstanceViews
    POST /internal/cluster/instances/console   InstanceIds (one id) -> nc ConsoleOutput

``run`` is all or nothing by ``min_count``: it places as many of ``instances`` as fit (up to
all of them), or none and InsufficientInstanceCapacity when fewer than ``min_count`` fit. The
placed instances get their network and metadata at once and boot in the background; the
reply lists only those.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eucalyptus.nc.root_volume import RootVolume


@dataclass
class NodeKeys:
    keys: dict[str, str] = field(default_factory=dict)      # node address -> PEM public key


@dataclass
class ImageRef:
    """One image every instance of the request boots: ``role`` is kernel, ramdisk or disk;
    ``sealed`` holds the bundle key sealed for each node (``nc.image_fetch.seal_for_node``).
    A plain disk object has no manifest, one URL, "" sealed per node, and its ``size`` and
    ``etag`` as recorded at registration."""
    role: str
    image_id: str
    cache_key: str
    manifest: str
    part_urls: list[str]
    sealed: dict[str, str] = field(default_factory=dict)
    size: int = 0
    etag: str = ""


@dataclass
class InstanceLaunch:
    instance_id: str
    metadata: dict[str, Any] = field(default_factory=dict)   # cc.vnet.metadata_tree document
    root_volume: RootVolume | None = None                   # EBS-backed: the root's export


@dataclass
class LaunchRequest:
    instances: list[InstanceLaunch]
    min_count: int
    reservation_id: str
    owner_id: str
    instance_type: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    images: list[ImageRef] = field(default_factory=list)
    cmdline: str = ""
    zone: str = ""
    groups: list[str] = field(default_factory=list)     # security group ids, in order


@dataclass
class LaunchedInstance:
    instance_id: str
    node: str
    private_ip: str = ""
    mac: str = ""
    hostname: str = ""


@dataclass
class LaunchReply:
    instances: list[LaunchedInstance]


@dataclass
class InstanceIds:
    instance_ids: list[str] = field(default_factory=list)


@dataclass
class InstanceView:
    """The cluster's view of one instance: the node's state (pending, running, stopped,
    shutting-down, terminated) and reason, and whether its node answers (``node_state`` up,
    down or unknown; ``reported_at`` is when the node last described it)."""
    instance_id: str
    node: str
    state: str
    reason: str = ""
    node_state: str = "up"
    reported_at: float = 0.0
    private_ip: str = ""


@dataclass
class InstanceViews:
    instances: list[InstanceView]
