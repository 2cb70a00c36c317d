"""The cloud's own network namespace: bridge, gateway address, forwarding, metadata DNAT.

Cloud-in-a-box keeps its whole instance network inside one namespace named after its data
directory (``euca-`` and 8 hex digits of a hash of the resolved path), so two clouds on one
host (or two test runs) never meet, and nothing is added to the host's root namespace.

Inside it: the bridge ``eucabr0`` holding the subnet's first address (the instances' gateway),
``net.ipv4.ip_forward=1``, and the nftables table ``ip euca_metadata`` whose only rule sends
169.254.169.254:80 to the metadata listener on the gateway (``METADATA_PORT``). The DNAT keeps
the source address, which is how the metadata service knows which instance asks. Security
groups and elastic IPs add their own tables later; this module owns only ``euca_metadata``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from eucalyptus.cc.vnet.addresses import Subnet
from eucalyptus.drivers.network.base import NetworkBackend

BRIDGE = "eucabr0"
METADATA_ADDRESS = "169.254.169.254"
METADATA_PORT = 8780
NAT_TABLE = "euca_metadata"


def namespace_name(data_dir: str | Path) -> str:
    """The namespace of the cloud whose data directory is ``data_dir``."""
    resolved = str(Path(data_dir).resolve())
    return "euca-" + hashlib.sha256(resolved.encode()).hexdigest()[:8]


def metadata_ruleset(gateway: str, port: int = METADATA_PORT) -> str:
    """nft text that (re)defines the metadata DNAT table in one transaction."""
    return (f"table ip {NAT_TABLE}\n"
            f"delete table ip {NAT_TABLE}\n"
            f"table ip {NAT_TABLE} {{\n"
            "  chain prerouting {\n"
            "    type nat hook prerouting priority dstnat; policy accept;\n"
            f"    ip daddr {METADATA_ADDRESS} tcp dport 80 dnat to {gateway}:{port}\n"
            "  }\n"
            "}\n")


class CloudNamespace:
    """Makes and removes the namespace and what the instance network needs in it."""

    def __init__(self, backend: NetworkBackend, ns: str, subnet: Subnet,
                 bridge: str = BRIDGE, metadata_port: int = METADATA_PORT):
        self.backend = backend
        self.ns = ns
        self.subnet = subnet
        self.bridge = bridge
        self.metadata_port = metadata_port

    def exists(self) -> bool:
        return self.backend.namespace_exists(self.ns)

    def ensure(self) -> None:
        """Create what is missing, keep what exists (a restart re-uses the namespace)."""
        self.backend.create_namespace(self.ns)
        self.backend.ensure_bridge(self.ns, self.bridge, self.subnet.gateway_cidr)
        self.backend.set_sysctl(self.ns, "net.ipv4.ip_forward", "1")
        self.backend.apply_rules(self.ns, metadata_ruleset(self.subnet.gateway,
                                                          self.metadata_port))

    def remove(self) -> None:
        """Delete the namespace with everything in it (idempotent)."""
        self.backend.delete_namespace(self.ns)
