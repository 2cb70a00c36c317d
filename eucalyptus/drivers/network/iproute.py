"""``NetworkBackend`` with the iproute2 (``ip``) and nftables (``nft``) commands.

Every command names its namespace: ``ip -n NS ...`` for links and addresses, ``ip netns exec NS
...`` for ``sysctl`` and ``nft``. Sockets are made inside a namespace by a short-lived thread
that enters it with ``setns(2)``; the thread ends right after, so no thread of the caller's
process stays in (or leaves) any namespace but its own.
"""
from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

from eucalyptus.drivers.network.base import (NetworkBackend, NetworkError, check_ifname,
                                             check_mac, check_ns)

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
COMMAND_TIMEOUT_S = 30
SYSCTL_KEY = re.compile(r"net(\.[A-Za-z0-9_-]+)+")
NFT_FAMILIES = {"ip", "ip6", "inet", "arp", "bridge", "netdev"}
ABSENT = ("Cannot find device", "No such file or directory", "does not exist")


VXLAN_GROUP = "239.192.77.1"
VXLAN_PORT = 4789


def has_8021q() -> bool:
    """Whether the kernel can make 802.1Q VLAN links (the 8021q module is in)."""
    return Path("/sys/module/8021q").exists()


def run(argv: list[str], stdin: str | None = None, absent_ok: bool = False) -> str:
    """Run ``argv``; its stdout. NetworkError on failure (unless ``absent_ok`` and the
    command said the object does not exist)."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetworkError(f"{' '.join(argv)}: {exc}") from None
    if done.returncode != 0:
        if absent_ok and any(text in done.stderr for text in ABSENT):
            return ""
        raise NetworkError(f"{' '.join(argv)} failed ({done.returncode}): "
                           f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class IprouteBackend(NetworkBackend):
    capabilities = frozenset({"bridge", "tap", "veth", "nftables", "listen-in-namespace"})

    def unavailable_reason(self) -> str:
        missing = [cmd for cmd in ("ip", "nft") if shutil.which(cmd) is None]
        if missing:
            return (f"command(s) not found: {', '.join(missing)} "
                    "(Debian packages iproute2 and nftables)")
        if os.geteuid() != 0:
            return "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)"
        return ""

    # -- namespaces --------------------------------------------------------------------------
    def namespace_exists(self, ns: str) -> bool:
        return (NETNS_DIR / check_ns(ns)).exists()

    def create_namespace(self, ns: str) -> None:
        if not self.namespace_exists(ns):
            try:
                run(["ip", "netns", "add", ns])
            except NetworkError:
                if not self.namespace_exists(ns):   # another process may have won the race
                    raise
        run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def delete_namespace(self, ns: str) -> None:
        if self.namespace_exists(ns):
            run(["ip", "netns", "delete", ns], absent_ok=True)

    def namespace_argv(self, ns: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", check_ns(ns), *argv]

    # -- links -------------------------------------------------------------------------------
    def _links(self, ns: str) -> list[dict]:
        return json.loads(run(["ip", "-n", check_ns(ns), "-j", "link", "show"]) or "[]")

    def link_names(self, ns: str) -> list[str]:
        return [link["ifname"] for link in self._links(ns)]

    def ensure_bridge(self, ns: str, bridge: str, address: str = "") -> None:
        check_ifname(bridge)
        if bridge not in self.link_names(ns):
            try:
                run(["ip", "-n", ns, "link", "add", bridge, "type", "bridge"])
            except NetworkError:
                if bridge not in self.link_names(ns):  # a node in the same namespace won
                    raise
        if address and address not in self.addresses_of(ns, bridge):
            run(["ip", "-n", ns, "addr", "add", address, "dev", bridge])
        run(["ip", "-n", ns, "link", "set", bridge, "up"])

    def addresses_of(self, ns: str, dev: str) -> list[str]:
        check_ifname(dev)
        shown = json.loads(run(["ip", "-n", check_ns(ns), "-j", "addr", "show", "dev", dev],
                               absent_ok=True) or "[]")
        return [f"{a['local']}/{a['prefixlen']}" for link in shown
                for a in link.get("addr_info", []) if a.get("family") == "inet"]

    def add_address(self, ns: str, dev: str, address: str) -> None:
        try:
            iface = ipaddress.IPv4Interface(address)
        except ValueError:
            raise NetworkError(f"bad IPv4 address {address!r}") from None
        cidr = f"{iface.ip}/{iface.network.prefixlen}"
        if cidr not in self.addresses_of(ns, dev):
            run(["ip", "-n", ns, "addr", "add", cidr, "dev", dev])

    def remove_address(self, ns: str, dev: str, address: str) -> None:
        if address in self.addresses_of(ns, dev):
            run(["ip", "-n", ns, "addr", "del", address, "dev", dev], absent_ok=True)

    def ensure_vlan(self, ns: str, parent: str, vlan: int) -> str:
        """An 802.1Q sub-interface when the kernel has 8021q; on a kernel without it (and
        unable to load modules) the same name is a VXLAN link with VNI ``vlan`` over
        ``parent``, flooding through the multicast group VXLAN_GROUP: ``parent`` then needs
        an IPv4 address and an MTU of at least 1550 so that guests keep 1500."""
        check_ifname(parent)
        if not isinstance(vlan, int) or not 1 <= vlan <= 4094:
            raise NetworkError(f"bad VLAN id {vlan!r} (1-4094)")
        name = check_ifname(f"{parent}.{vlan}")
        if name not in self.link_names(ns):
            kind = (["type", "vlan", "id", str(vlan)] if has_8021q() else
                    ["type", "vxlan", "id", str(vlan), "group", VXLAN_GROUP, "dev", parent,
                     "dstport", str(VXLAN_PORT)])
            try:
                run(["ip", "-n", ns, "link", "add", "link", parent, "name", name, *kind]
                    if kind[1] == "vlan" else ["ip", "-n", ns, "link", "add", name, *kind])
            except NetworkError:
                if name not in self.link_names(ns):
                    raise
        run(["ip", "-n", ns, "link", "set", parent, "up"])
        run(["ip", "-n", ns, "link", "set", name, "up"])
        return name

    def set_master(self, ns: str, link: str, bridge: str) -> None:
        check_ns(ns), check_ifname(link), check_ifname(bridge)
        run(["ip", "-n", ns, "link", "set", link, "master", bridge, "up"])

    def add_tap(self, ns: str, tap: str, bridge: str) -> None:
        check_ifname(tap), check_ifname(bridge)
        if tap not in self.link_names(ns):
            run(["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"])
        run(["ip", "-n", ns, "link", "set", tap, "master", bridge, "up"])

    def add_veth(self, ns: str, name: str, peer_ns: str, peer_name: str, *,
                 bridge: str = "", peer_mac: str = "") -> None:
        check_ns(ns), check_ns(peer_ns), check_ifname(name), check_ifname(peer_name)
        if peer_mac:
            check_mac(peer_mac)
        if bridge:
            check_ifname(bridge)
        run(["ip", "-n", ns, "link", "add", name, "type", "veth",
             "peer", "name", peer_name, "netns", peer_ns])
        try:
            peer = ["ip", "-n", peer_ns, "link", "set", peer_name]
            run(peer + (["address", peer_mac] if peer_mac else []) + ["up"])
            run(["ip", "-n", ns, "link", "set", name]
                + (["master", bridge] if bridge else []) + ["up"])
        except NetworkError:
            self.delete_link(ns, name)      # deleting one end removes the pair
            raise

    def delete_link(self, ns: str, name: str) -> None:
        check_ifname(name)
        if self.namespace_exists(ns):
            run(["ip", "-n", ns, "link", "delete", name], absent_ok=True)

    # -- kernel settings and packet rules ----------------------------------------------------
    def _sysctl_key(self, key: str) -> str:
        if not SYSCTL_KEY.fullmatch(key):
            raise NetworkError(f"not a per-namespace network sysctl: {key!r}")
        return key

    def set_sysctl(self, ns: str, key: str, value: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9 _.-]{1,64}", value):
            raise NetworkError(f"bad sysctl value {value!r}")
        run(self.namespace_argv(ns, ["sysctl", "-qw", f"{self._sysctl_key(key)}={value}"]))

    def get_sysctl(self, ns: str, key: str) -> str:
        return run(self.namespace_argv(ns, ["sysctl", "-n", self._sysctl_key(key)])).strip()

    def apply_rules(self, ns: str, ruleset: str) -> None:
        run(self.namespace_argv(ns, ["nft", "-f", "-"]), stdin=ruleset)

    def delete_table(self, ns: str, family: str, table: str) -> None:
        if family not in NFT_FAMILIES or not re.fullmatch(r"[A-Za-z0-9_]{1,64}", table):
            raise NetworkError(f"bad nft table {family} {table!r}")
        if self.namespace_exists(ns):
            run(self.namespace_argv(ns, ["nft", "delete", "table", family, table]),
                absent_ok=True)

    def list_rules(self, ns: str) -> str:
        return run(self.namespace_argv(ns, ["nft", "list", "ruleset"]))

    # -- sockets -----------------------------------------------------------------------------
    def packet_socket(self, ns: str, ifname: str, ethertype: int) -> socket.socket:
        check_ifname(ifname)

        def bound(sock: socket.socket) -> None:
            sock.bind((ifname, ethertype))

        return socket_in_namespace(ns, f"packets-in-{ns}", f"capture on {ifname}", bound,
                                   socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))

    def listen_tcp(self, ns: str, host: str, port: int, backlog: int = 128) -> socket.socket:
        def listening(sock: socket.socket) -> None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(backlog)

        return socket_in_namespace(ns, f"listen-in-{ns}", f"listen on {host}:{port}",
                                   listening, socket.AF_INET, socket.SOCK_STREAM)


def socket_in_namespace(ns: str, thread_name: str, purpose: str, setup,
                        *socket_args: int) -> socket.socket:
    """A non-blocking ``socket.socket(*socket_args)`` made inside namespace ``ns`` and passed
    to ``setup`` (bind, listen...) there, by a thread of its own that enters ``ns`` with
    setns(2) and ends right after; the socket stays in ``ns``. NetworkError naming
    ``purpose`` when any step fails (the socket is closed then)."""
    path = NETNS_DIR / check_ns(ns)
    result: dict[str, object] = {}

    def in_namespace() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({path}): {os.strerror(err)}")
            finally:
                os.close(fd)
            sock = socket.socket(*socket_args)
            try:
                setup(sock)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            result["socket"] = sock
        except OSError as exc:
            result["error"] = exc

    worker = threading.Thread(target=in_namespace, name=thread_name, daemon=True)
    worker.start()
    worker.join()
    if "error" in result:
        raise NetworkError(f"cannot {purpose} in {ns}: {result['error']}")
    return result["socket"]  # type: ignore[return-value]
