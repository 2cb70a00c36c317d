"""The network backend interface: what the cluster controller (and tests) ask of the host.

Contract shared by every method:

- ``ns`` is the name of a network namespace made by ``create_namespace``; it is required and
  validated (letters, digits, ``_.-``, at most 64 characters). Nothing is ever created or
  changed in the caller's own namespace: links, addresses, routes, sysctls and nft tables are
  made inside ``ns`` only. The one exception is ``listen_tcp``, which creates a socket *in*
  ``ns`` and hands it to the caller.
- Interface names are validated too (at most 15 characters, the kernel's limit).
- Creating is idempotent (what exists already is kept and completed), deleting is idempotent
  (what is absent is not an error).
- A failure raises ``NetworkError`` with the command and what it printed; a half-done step is
  undone where the backend can (e.g. a veth whose peer could not be moved is deleted).
"""
from __future__ import annotations

import abc
import re
import socket

NS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
IF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


class NetworkError(Exception):
    """A network operation failed; the message says which and why."""


def check_ns(ns: str) -> str:
    if not isinstance(ns, str) or not NS_NAME.fullmatch(ns):
        raise NetworkError(f"bad network namespace name {ns!r}")
    return ns


def check_ifname(name: str) -> str:
    if not isinstance(name, str) or not IF_NAME.fullmatch(name):
        raise NetworkError(f"bad interface name {name!r} (1-15 of A-Z a-z 0-9 _ . -)")
    return name


def check_mac(mac: str) -> str:
    if not isinstance(mac, str) or not MAC.fullmatch(mac):
        raise NetworkError(f"bad MAC address {mac!r} (lower-case xx:xx:xx:xx:xx:xx)")
    return mac


class NetworkBackend(abc.ABC):
    """Namespaces, bridges, links, sysctls and nftables inside namespaces."""

    #: what this backend can do, as flags (callers never probe)
    capabilities: frozenset[str] = frozenset()

    @abc.abstractmethod
    def unavailable_reason(self) -> str:
        """Why this backend cannot work on this host ("" when it can): missing commands or
        privileges. Cheap; changes nothing."""

    # -- namespaces --------------------------------------------------------------------------
    @abc.abstractmethod
    def namespace_exists(self, ns: str) -> bool:
        """Whether the named namespace exists."""

    @abc.abstractmethod
    def create_namespace(self, ns: str) -> None:
        """Make the namespace (if absent) with its loopback up."""

    @abc.abstractmethod
    def delete_namespace(self, ns: str) -> None:
        """Remove the namespace and with it every link, address, rule and sysctl inside it.
        Processes still running in it keep it alive but unnamed; stop them first."""

    @abc.abstractmethod
    def namespace_argv(self, ns: str, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` inside ``ns`` (for daemons and tests)."""

    # -- links -------------------------------------------------------------------------------
    @abc.abstractmethod
    def ensure_bridge(self, ns: str, bridge: str, address: str = "") -> None:
        """A bridge named ``bridge`` in ``ns``, up, holding ``address`` (CIDR, e.g.
        ``10.77.0.1/16``) among its addresses (no address is added when it is empty)."""

    @abc.abstractmethod
    def remove_address(self, ns: str, dev: str, address: str) -> None:
        """Take ``address`` (CIDR) off ``dev``; an absent address or device is fine."""

    @abc.abstractmethod
    def ensure_vlan(self, ns: str, parent: str, vlan: int) -> str:
        """The link ``<parent>.<vlan>`` in ``ns``, up, carrying VLAN ``vlan`` (1..4094) over
        ``parent``; its name. Frames of different VLANs never meet. An 802.1Q sub-interface
        where the kernel has it; a backend may use an equivalent tunnel (VXLAN) otherwise and
        documents what ``parent`` then needs."""

    @abc.abstractmethod
    def set_master(self, ns: str, link: str, bridge: str) -> None:
        """Enslave ``link`` to ``bridge`` (both in ``ns``) and set it up; idempotent."""

    @abc.abstractmethod
    def addresses_of(self, ns: str, dev: str) -> list[str]:
        """The IPv4 addresses (CIDR) of ``dev`` in ``ns``; [] when it does not exist."""

    @abc.abstractmethod
    def add_tap(self, ns: str, tap: str, bridge: str) -> None:
        """A tap device in ``ns`` enslaved to ``bridge`` and up, for a hypervisor to open."""

    @abc.abstractmethod
    def add_veth(self, ns: str, name: str, peer_ns: str, peer_name: str, *,
                 bridge: str = "", peer_mac: str = "") -> None:
        """A veth pair: ``name`` in ``ns`` (enslaved to ``bridge`` when given) and up,
        ``peer_name`` in ``peer_ns`` (with ``peer_mac`` when given) and up."""

    @abc.abstractmethod
    def delete_link(self, ns: str, name: str) -> None:
        """Remove a link (tap, veth end, bridge) from ``ns``; absent is fine."""

    @abc.abstractmethod
    def link_names(self, ns: str) -> list[str]:
        """Names of the links in ``ns``."""

    @abc.abstractmethod
    def add_address(self, ns: str, dev: str, address: str) -> None:
        """Put ``address`` (IPv4 CIDR, e.g. ``10.88.0.50/32``) on ``dev`` in ``ns``; present
        already is fine; NetworkError when ``dev`` does not exist."""

    # -- kernel settings and packet rules ----------------------------------------------------
    @abc.abstractmethod
    def set_sysctl(self, ns: str, key: str, value: str) -> None:
        """Set a per-namespace sysctl such as ``net.ipv4.ip_forward`` inside ``ns``."""

    @abc.abstractmethod
    def get_sysctl(self, ns: str, key: str) -> str:
        """Read a sysctl as seen inside ``ns``."""

    @abc.abstractmethod
    def apply_rules(self, ns: str, ruleset: str) -> None:
        """Load an nftables rule set (``nft -f`` syntax) in ``ns`` as one transaction:
        all of it applies or none of it does."""

    @abc.abstractmethod
    def delete_table(self, ns: str, family: str, table: str) -> None:
        """Drop an nftables table in ``ns``; absent is fine."""

    @abc.abstractmethod
    def list_rules(self, ns: str) -> str:
        """The whole nftables rule set of ``ns`` as text."""

    # -- sockets -----------------------------------------------------------------------------
    @abc.abstractmethod
    def packet_socket(self, ns: str, ifname: str, ethertype: int) -> socket.socket:
        """A non-blocking ``AF_PACKET`` raw socket inside ``ns`` receiving the frames of
        ``ethertype`` (e.g. 0x0806, ARP) seen on ``ifname``. Like ``listen_tcp``'s socket it
        stays in ``ns``; it needs CAP_NET_RAW."""

    @abc.abstractmethod
    def listen_tcp(self, ns: str, host: str, port: int, backlog: int = 128) -> socket.socket:
        """A listening, non-blocking TCP socket bound to ``host:port`` inside ``ns``. The
        socket stays in ``ns`` for its whole life, whatever namespace the caller runs in."""
