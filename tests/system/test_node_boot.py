"""The node controller with real QEMU guests (TCG) booting the starter image.

One guest boots (and reboots once) through a node controller running as its own process, on
an instance network made by the cluster's vnet code inside a test namespace: DHCP, metadata
(IMDSv2), the key installed, user-data run, SSH in, a real reboot, SIGKILL of the node
controller with the guest surviving and re-adopted, ACPI power-off noticed, terminate cleaning
up. Boot-to-marker and boot-to-ssh times are printed (run with -s to see them).
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from eucalyptus.config import load_settings
from eucalyptus.drivers.hypervisor.base import HypervisorError, InstanceSpec
from eucalyptus.drivers.hypervisor.qemu import QemuDriver, process_alive, read_pid
from eucalyptus.nc.messages import (ConsoleOutput, ConsoleQuery, InstanceInfo, InstanceList,
                                    InstanceQuery, InstanceRef, NicSpec, RunInstance)
from eucalyptus.rpc.client import RpcClient
from eucalyptus.rpc.keys import make_key
from eucalyptus.rpc.messages import NodeResources
from tests.cloud_fixture import free_port_base
from tests.system.guests import require_guests, ssh_argv, wait_for

# Real guests under software emulation on 2 shared cores: one retry absorbs a slow boot.
pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
REPO = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"EUCALYPTUS-GUEST-READY instance=(\S+) hostname=(\S+) ip=(\S+) "
                    r"uptime=([\d.]+)")


@pytest.fixture(scope="session")
def starter():
    require_guests()
    from eucalyptus.images.starter import build_starter
    return build_starter()


class NodeProcess:
    """``eucalyptus serve nc`` on a minimal data directory, as its own process."""

    def __init__(self, data: Path):
        self.data = data
        data.mkdir(parents=True, exist_ok=True)
        for name in ("nc", "admin"):
            make_key(data, name)
        port = free_port_base() + 2
        (data / "eucalyptus.conf").write_text(f'NC_PORT="{port}"\nHYPERVISOR="tcg"\n')
        (data / ".initialised").touch()
        self.url = load_settings(data).url("nc")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.log = open(self.data / "nc.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "eucalyptus.cli.admin", "serve",
                                      "nc", "--data-dir", str(self.data)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def _wait(predicate, timeout: float, what: str):
    return wait_for(predicate, timeout, what, interval=0.2)


def test_a_starter_guest_through_the_node_controller(starter, netns_backend, loop_thread,
                                                    tmp_path, root_namespace_unchanged):
    from eucalyptus.cc.vnet.manager import InstanceNetwork, remove_cloud_network
    settings = load_settings(tmp_path / "cc", env={"EUCA_VNET_SUBNET": "10.67.0.0",
                                                   "EUCA_VNET_NETMASK": "255.255.255.0"})
    # dnsmasq drops to nobody: its files live in a directory others may search
    runtime = Path(tempfile.mkdtemp(prefix="euca-nc-vnet-"))
    runtime.chmod(0o755)
    net = InstanceNetwork(settings, backend=netns_backend, runtime_dir=runtime)
    node = NodeProcess(tmp_path / "nc")
    iid = "i-" + os.urandom(9).hex()[:17]
    try:
        loop_thread.run(net.start())
        assert net.available, net.error
        att = loop_thread.run(net.attach(iid, hostname="starter-one"))
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp_path / "key")], check=True)
        user_data = "#!/bin/sh\necho made-by-user-data > /tmp/user-data-ran\necho ud-ok\n"
        net.put_metadata(iid, att.private_ip, {
            "hostname": "starter-one", "http-tokens": "required",
            "public-keys": {"test": (tmp_path / "key.pub").read_text().strip()},
            "user-data": base64.b64encode(user_data.encode()).decode()})
        node.start()
        client = RpcClient.for_caller(node.data, "admin", node.url, timeout=30)

        def call(name, msg, reply):
            return loop_thread.run(client.call("POST", name, msg, reply=reply))

        _wait(lambda: _reachable(call), 60, "the node controller")
        started = time.monotonic()
        info = call("node/instances/run", RunInstance(
            iid, vcpus=1, memory_mib=256, kernel=str(starter.kernel),
            ramdisk=str(starter.ramdisk), cmdline=starter.cmdline,
            nic=NicSpec(att.netns, att.bridge, att.mac)), InstanceInfo)
        assert info.state == "running" and info.tap
        assert call("node/resources", None, NodeResources).instances == 1

        def console() -> str:
            out = call("node/instances/console", ConsoleQuery(iid), ConsoleOutput)
            return base64.b64decode(out.output).decode(errors="replace")

        first = _wait(lambda: MARKER.search(console()), 60, "the ready marker")
        to_marker = time.monotonic() - started
        assert first.groups()[:3] == (iid, "starter-one", att.private_ip)
        ssh = ssh_argv(att.netns, tmp_path / "key", att.private_ip)

        def ssh_ok():
            done = subprocess.run(ssh + ["hostname; cat /proc/sys/kernel/random/boot_id"],
                                  capture_output=True, text=True, timeout=20)
            return done.stdout.split() if done.returncode == 0 else None
        hostname, boot_id = _wait(ssh_ok, 60, "ssh")
        to_ssh = time.monotonic() - started
        print(f"\nboot to marker {to_marker:.2f} s, boot to ssh {to_ssh:.2f} s "
              f"(guest uptime at marker {first.group(4)} s)")
        assert hostname == "starter-one"
        _wait(lambda: "EUCALYPTUS-USER-DATA-DONE status=0" in console(), 30, "user-data")
        assert "user-data: ud-ok" in console()
        assert subprocess.run(ssh + ["cat /tmp/user-data-ran"], capture_output=True,
                              text=True, timeout=20).stdout.strip() == "made-by-user-data"

        # a real reboot: the kernel starts again, the console keeps both boots
        call("node/instances/reboot", InstanceRef(iid), InstanceInfo)
        _wait(lambda: len(MARKER.findall(console())) == 2, 60, "the second boot")
        assert _wait(ssh_ok, 60, "ssh after reboot")[1] != boot_id

        # the node controller dies; the guest does not; a new one adopts it
        qemu_dir = node.data / "instances" / iid
        qemu_pid = read_pid(qemu_dir)
        node.kill()
        assert process_alive(qemu_pid, qemu_dir)
        node.start()
        _wait(lambda: _reachable(call), 60, "the restarted node controller")
        (again,) = call("node/instances/describe", InstanceQuery([iid]), InstanceList).instances
        assert again.state == "running"

        # the guest powers off (ACPI button): the node notices and reports it stopped
        driver = QemuDriver("tcg")
        handle = loop_thread.run(driver.adopt(qemu_dir))
        assert loop_thread.run(driver.powerdown(handle, wait=60))
        stopped = _wait(lambda: [i for i in call("node/instances/describe", InstanceQuery(),
                                                 InstanceList).instances
                                 if i.state == "stopped"], 60, "the stopped state")
        assert stopped[0].reason.startswith("Client.InstanceInitiatedShutdown")
        assert "power button" in console()

        gone = call("node/instances/terminate", InstanceRef(iid), InstanceInfo)
        assert gone.state == "terminated" and not qemu_dir.exists()
        assert not process_alive(qemu_pid, qemu_dir)
        assert info.tap not in netns_backend.link_names(att.netns)
        assert call("node/resources", None, NodeResources).instances == 0
        loop_thread.run(client.close())
    finally:
        node.kill()
        pid = read_pid(node.data / "instances" / iid)
        if pid and process_alive(pid, node.data / "instances" / iid):
            os.kill(pid, signal.SIGKILL)
        loop_thread.run(net.stop())
        remove_cloud_network(tmp_path / "cc", netns_backend, runtime_dir=runtime)
        shutil.rmtree(runtime, ignore_errors=True)


def _reachable(call) -> bool:
    try:
        call("node/resources", None, NodeResources)
        return True
    except Exception:
        return False


def test_a_failed_spawn_leaves_nothing_behind(starter, tmp_path, loop_thread):
    bogus = tmp_path / "not-a-kernel"
    bogus.write_bytes(b"\0" * 4096)
    d = tmp_path / "i-0badbad0"
    spec = InstanceSpec("i-0badbad0", d, kernel=bogus, ramdisk=starter.ramdisk)
    with pytest.raises(HypervisorError, match="QEMU failed to start"):
        loop_thread.run(QemuDriver("tcg").spawn(spec))
    assert sorted(p.name for p in d.iterdir()) in ([], ["console.log"])
