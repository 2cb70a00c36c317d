"""Fixtures of the system tests (real namespaces, real dnsmasq, real guests).

Everything here lives in network namespaces the tests create with unique names and always
remove; nothing is added to the host's root namespace.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loop_thread import LoopThread


def pytest_configure(config):
    config.addinivalue_line("markers", "system: needs root, network namespaces or QEMU")


# -- instance network (eucalyptus.cc.vnet) ---------------------------------------------------

def _missing_or_skip(reason: str) -> None:
    """Skip on a developer machine, fail under CI=true (``make test`` installs everything)."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def netns_backend():
    """The real network backend, when this host can run namespaces, dnsmasq and udhcpc."""
    from eucalyptus.drivers import network
    backend = network.load()
    reason = backend.unavailable_reason()
    for command, package in (("dnsmasq", "dnsmasq-base"), ("busybox", "busybox-static")):
        if not reason and shutil.which(command) is None:
            reason = f"{command} not found (Debian {package})"
    if reason:
        _missing_or_skip(reason)
    return backend


@pytest.fixture
def loop_thread():
    running = LoopThread()
    yield running
    running.close()


@pytest.fixture
def vnet(netns_backend, loop_thread, tmp_path):
    """``start(**env) -> InstanceNetwork`` on a private data directory (subnet 10.66.0.0/24,
    32 addresses a network; ``env`` adds or overrides settings without their EUCA_ prefix),
    started on ``loop_thread``; stopped, removed and its namespace checked gone at the end."""
    from eucalyptus.cc.vnet.manager import InstanceNetwork, remove_cloud_network
    from eucalyptus.config import load_settings
    started: list[tuple[InstanceNetwork, object]] = []

    def start(**env) -> InstanceNetwork:
        data = tmp_path / f"data{len(started)}"
        base = {"VNET_SUBNET": "10.66.0.0", "VNET_NETMASK": "255.255.255.0",
                "VNET_ADDRSPERNET": "32"}
        settings = load_settings(data, env={f"EUCA_{k}": v for k, v in {**base, **env}.items()})
        net = InstanceNetwork(settings, backend=netns_backend)
        loop_thread.run(net.start())
        started.append((net, data))
        assert net.available, net.error
        return net

    yield start
    for net, data in started:
        loop_thread.run(net.stop())
        remove_cloud_network(data, netns_backend)
        assert not netns_backend.namespace_exists(net.ns)


UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "$router"
    ;;
esac
exit 0
"""


class FakeInstance:
    """A namespace standing in for a guest: ``eth0`` (a veth whose other end is on the cloud's
    bridge) with the instance's MAC; ``dhcp()`` configures it with busybox udhcpc and
    ``fetch()`` makes an HTTP request from inside it."""

    def __init__(self, backend, ns: str, script: Path):
        self.backend, self.ns, self.script = backend, ns, script

    def run(self, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(self.backend.namespace_argv(self.ns, argv), capture_output=True,
                              text=True, timeout=timeout)

    def dhcp(self, tries: int = 5) -> subprocess.CompletedProcess:
        return self.run(["busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", str(tries),
                         "-T", "1", "-s", str(self.script)])

    def address(self) -> str:
        out = self.run(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout.split()
        return out[out.index("inet") + 1] if "inet" in out else ""

    def fetch(self, path: str, method: str = "GET", headers: dict | None = None,
              host: str = "169.254.169.254") -> tuple[int, str, dict]:
        """(status, body, headers) of ``METHOD http://host<path>`` from inside the instance."""
        code = (
            "import json, sys, urllib.request, urllib.error\n"
            "req = urllib.request.Request(sys.argv[1], method=sys.argv[2],"
            " headers=json.loads(sys.argv[3]))\n"
            "try:\n"
            "    r = urllib.request.urlopen(req, timeout=10)\n"
            "except urllib.error.HTTPError as e:\n"
            "    r = e\n"
            "print(json.dumps([r.status, r.read().decode(), dict(r.headers)]))\n")
        import json
        done = self.run([sys.executable, "-c", code, f"http://{host}{path}", method,
                         json.dumps(headers or {})])
        if done.returncode != 0:
            raise AssertionError(f"fetch {path} from {self.ns} failed: {done.stderr}")
        status, body, got = json.loads(done.stdout)
        return status, body, got


@pytest.fixture
def fake_instances(netns_backend, tmp_path):
    """``make(cloud_ns, mac, bridge="eucabr0") -> FakeInstance``; all removed afterwards."""
    made: list[tuple[str, str, str]] = []
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)

    def make(cloud_ns: str, mac: str, bridge: str = "eucabr0") -> FakeInstance:
        ns = f"euca-t-{secrets.token_hex(4)}"
        host_end = f"vt{secrets.token_hex(4)}"
        netns_backend.create_namespace(ns)
        made.append((ns, cloud_ns, host_end))
        netns_backend.add_veth(cloud_ns, host_end, ns, "eth0", bridge=bridge, peer_mac=mac)
        return FakeInstance(netns_backend, ns, script)

    yield make
    for ns, cloud_ns, host_end in made:
        netns_backend.delete_namespace(ns)
        if netns_backend.namespace_exists(cloud_ns):
            netns_backend.delete_link(cloud_ns, host_end)


@pytest.fixture
def root_namespace_unchanged():
    """Asserts after the test that the root namespace's links, addresses and routes are as
    before (the other side of "nothing is ever added to the root namespace")."""
    def snapshot() -> tuple[str, str, str]:
        def ip(*args: str) -> str:
            return subprocess.run(["ip", *args], capture_output=True, text=True).stdout
        links = "\n".join(sorted(line.split(":")[1].strip() for line in
                                 ip("-o", "link", "show").splitlines()))
        return links, ip("-o", "-4", "addr", "show"), ip("route", "show")
    before = snapshot()
    yield
    assert snapshot() == before
