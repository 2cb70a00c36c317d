"""DHCP for instances: one dnsmasq per cloud serving every private network, static leases only.

dnsmasq runs inside the cloud's namespace with DNS off (``--port=0``) and one ``static`` range
per network in use (``--dhcp-range=set:n<index>,<network>,static,<netmask>``), so it answers
only the MACs listed in its hosts file (``MAC,IP,hostname`` lines) and each answer carries the
netmask and broadcast address of the network the address is in. The range's tag ``n<index>``
selects the network's router (its gateway) in the options file (``--dhcp-optsfile``).
dnsmasq listens with ``--bind-dynamic`` on an interface pattern (``eucabr*`` in MANAGED
mode), so the bridge of a network made after it started is served too.

Changes: a new instance on the networks dnsmasq already serves rewrites both files atomically
and sends SIGHUP, which re-reads them without a restart. dnsmasq is restarted instead (same
lease file) when the set of networks changed (ranges are command-line only) or when its lease
file holds a lease no current hosts line gives (an instance that left): dnsmasq never hands
an address leased to another MAC, so such a lease would keep the next owner of the address
without an offer until it expired; it is dropped from the lease file between the stop and
the start. Host lines never carry ``set:`` tags: dnsmasq 2.90 corrupts its heap when it
re-reads (SIGHUP) a tagged host line that has already answered a client, and dies.

Its run-time files (hosts file, pid file, lease file, log) live in ``runtime_dir``
(``/run/eucalyptus/<namespace>`` by default): dnsmasq drops its privileges to ``nobody`` and
re-reads the hosts file as that user, so the file must sit where ``nobody`` can read it, which a
private (0700) data directory is not. dnsmasq is only ever stopped by the PID in its pid file,
and only after checking that the process is the dnsmasq serving this very hosts file.
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable, Mapping

from eucalyptus.cc.vnet.addresses import Allocation, Subnet
from eucalyptus.drivers.network.base import NetworkBackend, NetworkError

RUNTIME_ROOT = Path("/run/eucalyptus")
LEASE_TIME = "1h"
STOP_TIMEOUT_S = 5.0


def render_hosts(allocations: Iterable[Allocation]) -> str:
    """The ``--dhcp-hostsfile`` text: one ``MAC,IP,hostname`` line per instance with an
    address, in address order (no tags: see the module docstring)."""
    ordered = sorted((a for a in allocations if a.private_ip),
                     key=lambda a: ipaddress.IPv4Address(a.private_ip))
    return "".join(f"{a.mac},{a.private_ip},{a.hostname}\n" for a in ordered)


def stale_leases(leases: str, allocations: Iterable[Allocation]) -> tuple[str, list[str]]:
    """Split dnsmasq's lease file text (``expiry MAC IP name client-id`` lines) into the
    text to keep (leases of a current MAC on its current address) and the lines of the
    others."""
    current = {(a.mac.lower(), a.private_ip) for a in allocations if a.private_ip}
    keep, stale = [], []
    for line in leases.splitlines():
        words = line.split()
        if len(words) >= 3 and (words[1].lower(), words[2]) not in current:
            stale.append(line)
        elif line.strip():
            keep.append(line)
    return "".join(f"{line}\n" for line in keep), stale


def render_options(networks: Mapping[int, Subnet]) -> str:
    """The ``--dhcp-optsfile`` text: netmask, router and broadcast of each network by tag."""
    out = []
    for index, net in sorted(networks.items()):
        out += [f"tag:n{index},option:netmask,{net.netmask}\n",
                f"tag:n{index},option:router,{net.gateway}\n",
                f"tag:n{index},option:broadcast,{net.network.broadcast_address}\n"]
    return "".join(out)


def dnsmasq_argv(interface: str, subnet: Subnet, runtime_dir: Path, dns: str = "",
                 networks: Mapping[int, Subnet] | None = None) -> list[str]:
    """dnsmasq's command line serving static leases of each of ``networks`` (index ->
    subnet; ``{0: subnet}`` without it) on the interfaces matching ``interface`` (a name,
    or a pattern ending in ``*``)."""
    ranges = [f"--dhcp-range=set:n{index},{net.network.network_address},static,"
              f"{net.netmask},{LEASE_TIME}"
              for index, net in sorted((networks or {0: subnet}).items())]
    argv = ["dnsmasq", "--conf-file=/dev/null", "--port=0", f"--interface={interface}",
            "--bind-dynamic", "--except-interface=lo", *ranges,
            f"--dhcp-hostsfile={runtime_dir / 'hosts'}",
            f"--dhcp-optsfile={runtime_dir / 'options'}",
            f"--dhcp-leasefile={runtime_dir / 'leases'}",
            f"--pid-file={runtime_dir / 'dnsmasq.pid'}",
            "--log-dhcp", f"--log-facility={runtime_dir / 'dnsmasq.log'}"]
    if dns:
        argv.append(f"--dhcp-option=option:dns-server,{dns}")
    return argv


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


class DhcpServer:
    """The dnsmasq of one cloud network."""

    def __init__(self, backend: NetworkBackend, ns: str, bridge: str, subnet: Subnet,
                 runtime_dir: Path | None = None, dns: str = ""):
        self.backend = backend
        self.ns = ns
        self.bridge = bridge
        self.subnet = subnet
        self.dns = dns
        self.runtime_dir = Path(runtime_dir or RUNTIME_ROOT / ns)
        self.hosts_path = self.runtime_dir / "hosts"
        self.options_path = self.runtime_dir / "options"
        self.pid_path = self.runtime_dir / "dnsmasq.pid"
        self.log_path = self.runtime_dir / "dnsmasq.log"

    @staticmethod
    def unavailable_reason() -> str:
        return "" if shutil.which("dnsmasq") else "dnsmasq not found (Debian dnsmasq-base)"

    def pid(self) -> int | None:
        """PID of the dnsmasq serving our hosts file, or None when it does not run."""
        try:
            pid = int(self.pid_path.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            return None
        ours = f"--dhcp-hostsfile={self.hosts_path}".encode()
        if not process_alive(pid) or not cmdline or not cmdline[0].endswith(b"dnsmasq") \
                or ours not in cmdline:
            return None
        return pid

    def write_hosts(self, allocations: Iterable[Allocation],
                    networks: Mapping[int, Subnet] | None = None) -> None:
        """Write the hosts and options files atomically, world-readable. NetworkError when a
        directory above them keeps the unprivileged dnsmasq from reading them. Without
        ``networks`` the one network is ``subnet`` (index 0), as in ``dnsmasq_argv``."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o755)
        for parent in self.runtime_dir.resolve().parents:
            if not parent.stat().st_mode & 0o001:
                raise NetworkError(f"dnsmasq (as nobody) could not read {self.hosts_path}: "
                                   f"{parent} is not searchable by others")
        allocations = list(allocations)
        networks = networks or {0: self.subnet}
        for path, text in ((self.options_path, render_options(networks)),
                           (self.hosts_path, render_hosts(allocations))):
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)

    def argv(self, networks: Mapping[int, Subnet] | None = None) -> list[str]:
        """dnsmasq's own command line for ``networks`` (without the namespace prefix)."""
        return dnsmasq_argv(self.bridge, self.subnet, self.runtime_dir, self.dns, networks)

    def _serves(self, pid: int, networks: Mapping[int, Subnet] | None) -> bool:
        """Whether the running ``pid`` was started for exactly ``networks``."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return [a.decode() for a in cmdline if a] == self.argv(networks)

    def _stale(self, allocations: list[Allocation]) -> bool:
        try:
            leases = (self.runtime_dir / "leases").read_text()
        except OSError:
            return False
        return bool(stale_leases(leases, allocations)[1])

    def start(self, allocations: Iterable[Allocation],
              networks: Mapping[int, Subnet] | None = None) -> int:
        """Write the hosts and options files and make sure dnsmasq serves them: a running one
        (left by an earlier run) re-reads them when it serves the same networks and holds no
        stale lease, otherwise it is restarted; with none running a new one starts. Its
        PID."""
        allocations = list(allocations)
        self.write_hosts(allocations, networks)
        pid = self.pid()
        if pid is not None:
            if self._serves(pid, networks) and not self._stale(allocations):
                os.kill(pid, signal.SIGHUP)
                return pid
            self._terminate(pid)
        self._drop_stale_leases(allocations)
        argv = self.backend.namespace_argv(self.ns, self.argv(networks))
        try:    # dnsmasq's parent exits once the daemon is up, non-zero when it failed
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NetworkError(f"cannot start dnsmasq: {exc}") from None
        if done.returncode != 0:
            raise NetworkError(f"dnsmasq failed to start ({done.returncode}): "
                               f"{done.stderr.strip() or done.stdout.strip()}")
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while (pid := self.pid()) is None:
            if time.monotonic() > deadline:
                raise NetworkError(f"dnsmasq started but wrote no pid file {self.pid_path}")
            time.sleep(0.02)
        return pid

    def update(self, allocations: Iterable[Allocation],
               networks: Mapping[int, Subnet] | None = None) -> None:
        """Serve ``allocations`` on ``networks``: new hosts and options files, then SIGHUP,
        or a restart when the networks changed or a stale lease must go (or a start when
        dnsmasq is gone)."""
        self.start(allocations, networks)

    def _drop_stale_leases(self, allocations: list[Allocation]) -> None:
        """Rewrite the lease file (dnsmasq not running) without leases of departed MACs."""
        path = self.runtime_dir / "leases"
        try:
            keep, stale = stale_leases(path.read_text(), allocations)
        except OSError:
            return
        if stale:
            tmp = path.with_name("leases.tmp")
            tmp.write_text(keep)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)

    @staticmethod
    def _terminate(pid: int) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns once ``pid`` is gone."""
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while process_alive(pid):
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop our dnsmasq (SIGTERM, then SIGKILL) and remove its run-time files."""
        pid = self.pid()
        if pid is not None:
            self._terminate(pid)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
