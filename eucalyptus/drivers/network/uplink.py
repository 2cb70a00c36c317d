"""The node side of an instance network: the bridge a node's taps go on, with its uplink.

On a multi-host cloud every node has its own network namespace (VNET_NAMESPACE) and reaches
the cluster controller's private networks through VNET_PRIVINTERFACE. ``ensure_node_bridge``
makes, in the node's namespace, the bridge an attachment names (without an address: the
gateway is the cluster controller's) and enslaves the uplink to it: the interface itself for
untagged networks (MANAGED-NOVLAN, STATIC, SYSTEM), or its 802.1Q sub-interface
``<uplink>.<vlan>`` for a MANAGED network with VLAN ``vlan``. Everything is idempotent, so a
node in the cluster controller's own namespace (cloud-in-a-box) finds the bridge made already
and changes nothing.
"""
from __future__ import annotations

from eucalyptus.drivers.network.base import NetworkBackend


def ensure_node_bridge(backend: NetworkBackend, ns: str, bridge: str, vlan: int = 0,
                       uplink: str = "") -> None:
    """``bridge`` up in ``ns``, with ``uplink`` (or ``uplink.<vlan>``) enslaved when given."""
    backend.ensure_bridge(ns, bridge)
    if uplink:
        link = backend.ensure_vlan(ns, uplink, vlan) if vlan else uplink
        backend.set_master(ns, link, bridge)
