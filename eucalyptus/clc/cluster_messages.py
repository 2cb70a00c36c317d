"""Internal API of the cloud controller's cluster registry (caller: the admin command).

    POST /internal/clusters/describe     (no body)     -> ClusterStates
    POST /internal/clusters/register     ClusterSpec   -> ClusterStates
    POST /internal/clusters/deregister   ZoneRef       -> ClusterStates

Contracts:
- ``describe`` lists every cluster, the home one (from the CLC's settings) first, each with
  the state its cluster controller answers ("available", or "unavailable" when it does not
  answer) and how many of its nodes are up.
- ``register`` adds the cluster of ``zone`` served by the cluster controller at ``cc_url`` and
  the storage controller at ``sc_url`` (base URLs, ``http://host:port``). That cluster
  controller must answer and say it serves ``zone``. A zone already known (also the home
  one) is InvalidParameterValue; so is a malformed name or URL.
- ``deregister`` removes a registered cluster; the home cluster cannot be removed
  (InvalidParameterValue), an unknown zone is InvalidZone.NotFound.
All three answer the whole registry afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ClusterSpec:
    zone: str
    cc_url: str
    sc_url: str


@dataclass
class ZoneRef:
    zone: str


@dataclass
class ClusterState:
    zone: str
    cc_url: str
    sc_url: str
    home: bool = False
    state: str = ""
    nodes_up: int = 0


@dataclass
class ClusterStates:
    clusters: list[ClusterState] = field(default_factory=list)
