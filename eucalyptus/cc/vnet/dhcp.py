"""DHCP for instances: one dnsmasq per cloud network, static leases by MAC only.

dnsmasq runs inside the cloud's namespace, bound to its bridge, with DNS off (``--port=0``) and
a ``static`` range, so it answers only the MACs listed in its hosts file (``MAC,IP,hostname``
lines). Adding or removing an instance rewrites that file atomically and sends dnsmasq SIGHUP,
which makes it re-read the file without a restart.

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
from typing import Iterable

from eucalyptus.cc.vnet.addresses import Allocation, Subnet
from eucalyptus.drivers.network.base import NetworkBackend, NetworkError

RUNTIME_ROOT = Path("/run/eucalyptus")
LEASE_TIME = "1h"
STOP_TIMEOUT_S = 5.0


def render_hosts(allocations: Iterable[Allocation]) -> str:
    """The ``--dhcp-hostsfile`` text: one ``MAC,IP,hostname`` line per instance."""
    ordered = sorted(allocations, key=lambda a: ipaddress.IPv4Address(a.private_ip))
    return "".join(f"{a.mac},{a.private_ip},{a.hostname}\n" for a in ordered)


def dnsmasq_argv(bridge: str, subnet: Subnet, runtime_dir: Path, dns: str = "") -> list[str]:
    """dnsmasq's command line for ``bridge`` serving static leases of ``subnet``."""
    argv = ["dnsmasq", "--conf-file=/dev/null", "--port=0", f"--interface={bridge}",
            "--bind-interfaces", "--except-interface=lo",
            f"--dhcp-range={subnet.first},static,{subnet.netmask},{LEASE_TIME}",
            f"--dhcp-hostsfile={runtime_dir / 'hosts'}",
            f"--dhcp-option=option:router,{subnet.gateway}",
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

    def write_hosts(self, allocations: Iterable[Allocation]) -> None:
        """Write the hosts file atomically, world-readable. NetworkError when a directory
        above it keeps the unprivileged dnsmasq from reading it."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o755)
        for parent in self.runtime_dir.resolve().parents:
            if not parent.stat().st_mode & 0o001:
                raise NetworkError(f"dnsmasq (as nobody) could not read {self.hosts_path}: "
                                   f"{parent} is not searchable by others")
        tmp = self.hosts_path.with_name("hosts.tmp")
        tmp.write_text(render_hosts(allocations))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.hosts_path)

    def start(self, allocations: Iterable[Allocation]) -> int:
        """Write the hosts file and make sure dnsmasq serves it: a running one (left by an
        earlier run) re-reads it, otherwise a new one starts. Its PID."""
        self.write_hosts(allocations)
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGHUP)
            return pid
        argv = self.backend.namespace_argv(
            self.ns, dnsmasq_argv(self.bridge, self.subnet, self.runtime_dir, self.dns))
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

    def update(self, allocations: Iterable[Allocation]) -> None:
        """New hosts file, then SIGHUP (or a start when dnsmasq is gone)."""
        allocations = list(allocations)
        pid = self.pid()
        if pid is None:
            self.start(allocations)
            return
        self.write_hosts(allocations)
        os.kill(pid, signal.SIGHUP)

    def stop(self) -> None:
        """Stop our dnsmasq (SIGTERM, then SIGKILL) and remove its run-time files."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
