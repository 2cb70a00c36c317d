"""dnsmasq's hosts file and command line, and how its PID is trusted."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from eucalyptus.cc.vnet.addresses import Allocation, Subnet
from eucalyptus.cc.vnet.dhcp import DhcpServer, dnsmasq_argv, process_alive, render_hosts
from eucalyptus.drivers.network.base import NetworkError
from eucalyptus.drivers.network.iproute import IprouteBackend


def test_hosts_file_has_one_static_lease_per_mac_in_address_order():
    allocs = [Allocation("i-00000002", "10.77.0.10", "d0:0d:00:00:00:02", "euca-10-77-0-10"),
              Allocation("i-00000001", "10.77.0.9", "d0:0d:00:00:00:01", "web")]
    assert render_hosts(allocs) == ("d0:0d:00:00:00:01,10.77.0.9,web\n"
                                    "d0:0d:00:00:00:02,10.77.0.10,euca-10-77-0-10\n")
    assert render_hosts([]) == ""


def test_command_line_serves_only_static_leases_without_dns(tmp_path):
    argv = dnsmasq_argv("eucabr0", Subnet.parse("10.77.0.0", "255.255.0.0"), tmp_path)
    assert argv[0] == "dnsmasq" and "--conf-file=/dev/null" in argv
    assert "--port=0" in argv                                     # DNS off
    assert "--interface=eucabr0" in argv and "--bind-interfaces" in argv
    assert "--dhcp-range=10.77.0.2,static,255.255.0.0,1h" in argv
    assert f"--dhcp-hostsfile={tmp_path / 'hosts'}" in argv
    assert "--dhcp-option=option:router,10.77.0.1" in argv
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
        assert oct((rt / "hosts").stat().st_mode & 0o777) == "0o644"
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
