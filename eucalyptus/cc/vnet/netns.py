"""The cluster controller's namespace: bridges, gateway addresses, forwarding, metadata DNAT.

Cloud-in-a-box keeps its whole instance network inside one namespace named after its data
directory (``euca-`` and 8 hex digits of a hash of the resolved path), so two clouds on one
host (or two test runs) never meet, and nothing is added to the host's root namespace. On a
multi-host cloud VNET_NAMESPACE names the existing namespace that is the front end's network;
it is used, never created or deleted.

Inside it, per network in use (``eucalyptus.cc.vnet.modes`` says which bridge): the bridge
holding the network's first address (the instances' gateway), with VNET_PRIVINTERFACE (or its
VLAN sub-interface ``<iface>.<vlan>`` in MANAGED mode) enslaved when set; the home network
(the legacy network 2 in the managed modes, the only one in STATIC) is always there.
``net.ipv4.ip_forward=1`` routes between networks (the firewall's forward chain decides what
passes) and ICMP redirects are off, so instances of different networks on one bridge keep
going through the gateway. The nftables table ``ip euca_metadata`` has one rule sending
169.254.169.254:80 from every network to the metadata listener on the home gateway
(``METADATA_PORT``); the DNAT keeps the source address, which is how the metadata service
knows which instance asks. SYSTEM mode only makes sure the bridge exists: no address, no
forwarding, no DNAT. Security groups and elastic IPs add their own tables; this module owns
only ``euca_metadata``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from eucalyptus.cc.vnet.modes import SYSTEM, ModeConfig
from eucalyptus.drivers.network.base import NetworkBackend, NetworkError

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
    """Makes and removes what the instance network needs in its namespace."""

    def __init__(self, backend: NetworkBackend, ns: str, mode: ModeConfig,
                 metadata_port: int = METADATA_PORT, own: bool = True):
        self.backend = backend
        self.ns = ns
        self.mode = mode
        self.metadata_port = metadata_port
        self.own = own              # made (and deleted) by us; else VNET_NAMESPACE

    @property
    def metadata_gateway(self) -> str:
        """The address the metadata listener binds to (the home network's gateway)."""
        return self.mode.network(self.mode.home_index).gateway

    def exists(self) -> bool:
        return self.backend.namespace_exists(self.ns)

    def ensure(self, indexes: Iterable[int] = ()) -> None:
        """Create what is missing, keep what exists (a restart re-uses the namespace): the
        home network and the networks ``indexes``."""
        if self.own:
            self.backend.create_namespace(self.ns)
        elif not self.exists():
            raise NetworkError(f"network namespace {self.ns} (VNET_NAMESPACE) does not exist")
        if self.mode.name == SYSTEM:
            self.backend.ensure_bridge(self.ns, self.mode.bridge)
            if self.mode.privinterface:
                self.backend.set_master(self.ns, self.mode.privinterface, self.mode.bridge)
            return
        for key in ("net.ipv4.conf.default.send_redirects", "net.ipv4.conf.all.send_redirects"):
            self.backend.set_sysctl(self.ns, key, "0")
        self.backend.set_sysctl(self.ns, "net.ipv4.ip_forward", "1")
        for index in sorted({self.mode.home_index, *indexes}):
            self.ensure_network(index)
        self.backend.apply_rules(self.ns, metadata_ruleset(self.metadata_gateway,
                                                          self.metadata_port))

    def ensure_network(self, index: int) -> None:
        """Network ``index``'s bridge with its gateway address (and uplink) on this side."""
        mode, net = self.mode, self.mode.network(index)
        bridge = mode.bridge_of(index)
        self.backend.ensure_bridge(self.ns, bridge, net.gateway_cidr)
        self.backend.set_sysctl(self.ns, f"net.ipv4.conf.{bridge}.send_redirects", "0")
        if mode.privinterface:
            link = (self.backend.ensure_vlan(self.ns, mode.privinterface, mode.vlan_of(index))
                    if mode.vlans else mode.privinterface)
            self.backend.set_master(self.ns, link, bridge)

    def remove_network(self, index: int) -> None:
        """Take network ``index`` off this side (never the home network); idempotent."""
        mode = self.mode
        if index == mode.home_index or mode.name == SYSTEM or not self.exists():
            return
        bridge = mode.bridge_of(index)
        if mode.vlans:
            if mode.privinterface:
                self.backend.delete_link(self.ns, f"{mode.privinterface}.{index}")
            self.backend.delete_link(self.ns, bridge)
        else:
            self.backend.remove_address(self.ns, bridge, mode.network(index).gateway_cidr)

    def remove(self, indexes: Iterable[int] = ()) -> None:
        """Delete the namespace with everything in it (idempotent). A namespace we did not
        make (VNET_NAMESPACE) stays: only our table, networks and bridges leave it."""
        if self.own:
            self.backend.delete_namespace(self.ns)
            return
        if not self.exists():
            return
        self.backend.delete_table(self.ns, "ip", NAT_TABLE)
        if self.mode.name == SYSTEM:
            return
        for index in set(indexes) - {self.mode.home_index}:
            self.remove_network(index)
        home = self.mode.home_index
        if self.mode.vlans:
            self.remove_network_anyway(home)
        else:
            self.backend.remove_address(self.ns, self.mode.bridge,
                                        self.mode.network(home).gateway_cidr)

    def remove_network_anyway(self, index: int) -> None:
        if self.mode.privinterface:
            self.backend.delete_link(self.ns, f"{self.mode.privinterface}.{index}")
        self.backend.delete_link(self.ns, self.mode.bridge_of(index))
