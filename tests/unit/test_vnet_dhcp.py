"""dnsmasq's hosts file and command line, and how its PID is trusted."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from eucalyptus.cc.vnet.addresses import Allocation, Subnet
from eucalyptus.cc.vnet.dhcp import (DhcpServer, dnsmasq_argv, process_alive, render_hosts,
                                     render_options, stale_leases)
from eucalyptus.drivers.network.base import NetworkError
from eucalyptus.drivers.network.iproute import IprouteBackend


def test_hosts_file_has_one_static_lease_per_mac_in_address_order_without_tags():
    allocs = [Allocation("i-00000002", "10.77.0.70", "d0:0d:00:00:00:02", "euca-10-77-0-70",
                         network=2),
              Allocation("i-00000001", "10.77.0.9", "d0:0d:00:00:00:01", "web"),
              Allocation("i-00000003", "", "d0:0d:00:00:00:03", "")]       # no address yet
    # no set: tags (dnsmasq 2.90 dies re-reading a tagged line that has answered a client)
    assert render_hosts(allocs) == ("d0:0d:00:00:00:01,10.77.0.9,web\n"
                                    "d0:0d:00:00:00:02,10.77.0.70,euca-10-77-0-70\n")
    assert render_hosts([]) == ""


def test_stale_leases_are_those_no_current_host_line_gives():
    allocs = [Allocation("i-00000001", "10.77.0.66", "d0:0d:00:00:00:01", "a"),
              Allocation("i-00000002", "10.77.0.67", "d0:0d:00:00:00:02", "b")]
    leases = ("1795266315 d0:0d:00:00:00:01 10.77.0.66 a 01:d0:0d:00:00:00:01\n"
              "1795266316 d0:0d:00:00:00:09 10.77.0.67 old *\n"        # address moved on
              "1795266317 D0:0D:00:00:00:02 10.77.0.67 b *\n"
              "1795266318 d0:0d:00:00:00:01 10.77.0.70 a *\n")         # not its address now
    keep, stale = stale_leases(leases, allocs)
    assert keep == ("1795266315 d0:0d:00:00:00:01 10.77.0.66 a 01:d0:0d:00:00:00:01\n"
                    "1795266317 D0:0D:00:00:00:02 10.77.0.67 b *\n")
    assert [line.split()[0] for line in stale] == ["1795266316", "1795266318"]
    assert stale_leases("", allocs) == ("", [])


def test_options_give_each_network_its_own_netmask_router_and_broadcast():
    text = render_options({3: Subnet.parse("10.77.0.96", "255.255.255.224"),
                           2: Subnet.parse("10.77.0.64", "255.255.255.224")})
    assert text.splitlines() == [
        "tag:n2,option:netmask,255.255.255.224", "tag:n2,option:router,10.77.0.65",
        "tag:n2,option:broadcast,10.77.0.95",
        "tag:n3,option:netmask,255.255.255.224", "tag:n3,option:router,10.77.0.97",
        "tag:n3,option:broadcast,10.77.0.127"]
    assert render_options({}) == ""


def test_command_line_serves_only_static_leases_without_dns(tmp_path):
    argv = dnsmasq_argv("eucabr0", Subnet.parse("10.77.0.0", "255.255.0.0"), tmp_path)
    assert argv[0] == "dnsmasq" and "--conf-file=/dev/null" in argv
    assert "--port=0" in argv                                     # DNS off
    assert "--interface=eucabr0" in argv and "--bind-dynamic" in argv   # new bridges too
    assert "--dhcp-range=set:n0,10.77.0.0,static,255.255.0.0,1h" in argv
    # one tagged range per network: each answer carries its own network's netmask
    two = dnsmasq_argv("eucabr0", Subnet.parse("10.77.0.0", "255.255.0.0"), tmp_path,
                       networks={3: Subnet.parse("10.77.0.96", "255.255.255.224"),
                                 2: Subnet.parse("10.77.0.64", "255.255.255.224")})
    assert [a for a in two if a.startswith("--dhcp-range=")] == [
        "--dhcp-range=set:n2,10.77.0.64,static,255.255.255.224,1h",
        "--dhcp-range=set:n3,10.77.0.96,static,255.255.255.224,1h"]
    assert f"--dhcp-hostsfile={tmp_path / 'hosts'}" in argv
    assert f"--dhcp-optsfile={tmp_path / 'options'}" in argv      # routers per network
    assert not any("router" in a for a in argv)
    assert "--interface=eucabr*" in dnsmasq_argv(
        "eucabr*", Subnet.parse("10.77.0.0", "255.255.0.0"), tmp_path)
    assert f"--pid-file={tmp_path / 'dnsmasq.pid'}" in argv
    assert not any("dns-server" in a for a in argv)
    with_dns = dnsmasq_argv("eucabr0", Subnet.parse("10.77.0.0", "255.255.0.0"), tmp_path,
                            dns="10.1.1.1")
    assert "--dhcp-option=option:dns-server,10.1.1.1" in with_dns


def test_write_hosts_is_readable_by_the_unprivileged_daemon(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    hidden = DhcpServer(IprouteBackend(), "euca-unit", "eucabr0",
                        Subnet.parse("10.77.0.0", "255.255.0.0"), runtime_dir=private / "rt")
    with pytest.raises(NetworkError, match="not searchable"):
        hidden.write_hosts([])
    with tempfile.TemporaryDirectory(dir="/tmp") as open_dir:    # pytest's tmp is 0700
        os.chmod(open_dir, 0o755)
        rt = Path(open_dir) / "rt"
        server = DhcpServer(IprouteBackend(), "euca-unit", "eucabr0",
                            Subnet.parse("10.77.0.0", "255.255.0.0"), runtime_dir=rt)
        server.write_hosts([Allocation("i-00000001", "10.77.0.2", "d0:0d:00:00:00:01", "a")])
        assert (rt / "hosts").read_text() == "d0:0d:00:00:00:01,10.77.0.2,a\n"
        assert "tag:n0,option:router,10.77.0.1" in (rt / "options").read_text()
        assert oct((rt / "hosts").stat().st_mode & 0o777) == "0o644"
        assert oct((rt / "options").stat().st_mode & 0o777) == "0o644"
        assert oct(rt.stat().st_mode & 0o777) == "0o755"


def test_a_pid_file_is_trusted_only_for_our_own_dnsmasq(tmp_path):
    server = DhcpServer(IprouteBackend(), "euca-unit", "eucabr0",
                        Subnet.parse("10.77.0.0", "255.255.0.0"), runtime_dir=tmp_path)
    assert server.pid() is None                                   # no pid file
    (tmp_path / "dnsmasq.pid").write_text("not a number\n")
    assert server.pid() is None
    # a live process that is not our dnsmasq: never signalled, stop() leaves it alone
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "dnsmasq.pid").write_text(f"{other.pid}\n")
        assert process_alive(other.pid) and server.pid() is None
        server.stop()
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
    assert not process_alive(other.pid)
    assert process_alive(os.getpid())
