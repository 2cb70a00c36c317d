"""What the system tests with real QEMU guests share.

- ``wait_for(predicate, timeout, what)``: poll until ``predicate()`` is truthy, return it;
- ``require_guests(tools)`` skips without root or /dev/net/tun and fails when a tool is
  missing; ``start_cloud`` / ``guest_cloud`` start a whole cloud-in-a-box whose node runs
  real guests under TCG (``VM_ENV``), the latter as a module-scoped fixture;
- ``starter_emi(cloud)``: the starter image registered at the cloud's first start;
- ``write_pem(path, material)``: a private key file ssh accepts;
- ``ssh_argv`` / ``ssh``: ``ip netns exec NS ssh -i KEY ... root@ADDRESS COMMAND``;
- ``instances(ec2, ids)`` / ``instance(ec2, iid)`` / ``wait_instances``: DescribeInstances
  by id;
- ``Timings``: how long each named step took;
- ``Guests``: SSH into instances from one namespace with one key, and the volume checks
  (the disk whose serial is a volume id, random bytes written and their checksum read).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.cloud_fixture import Cloud
from tests.polling import wait_for  # noqa: F401 (the system tests import it from here)

VM_ENV = {"EUCA_NC_POLLING_FREQUENCY": "1", "EUCA_HYPERVISOR": "tcg"}
QEMU = {"qemu-system-x86_64": "qemu-system-x86"}
QEMU_AND_NBD = {**QEMU, "qemu-storage-daemon": "qemu-utils"}
SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "ConnectTimeout=5", "-o", "BatchMode=yes"]
DATA_MIB = 4                # what the volume tests write into a guest's disk


def require_guests(tools: dict[str, str] = QEMU) -> None:
    """Skip without root or /dev/net/tun; fail when a binary of ``tools`` (binary ->
    the Debian package ``make`` installs it from) is not on the PATH."""
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun")
    for binary, package in tools.items():
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} is missing (make installs {package})")


def start_cloud(tmp_path_factory, name: str, env: dict[str, str] | None = None) -> Cloud:
    """A cloud-in-a-box in a new temporary directory ``name`` that runs real guests
    (``VM_ENV`` plus ``env``)."""
    work = tmp_path_factory.mktemp(name)
    return Cloud.start(work / "data", {**VM_ENV, **(env or {})}, timeout=300)


def guest_cloud(name: str, tools: dict[str, str] = QEMU, env: dict[str, str] | None = None,
                fixture_name: str = "cloud"):
    """A module-scoped fixture ``fixture_name``: ``require_guests(tools)``, then
    ``start_cloud(name, env)``, stopped after the module's tests."""
    def body(tmp_path_factory):
        require_guests(tools)
        running = start_cloud(tmp_path_factory, name, env)
        yield running
        running.stop()
    return pytest.fixture(scope="module", name=fixture_name)(body)


def starter_emi(cloud) -> str:
    """The id of the starter image the cloud registered at its first start (the test fails,
    with the cloud's logs when it has them, if it did not)."""
    marker = Path(cloud.data_dir) / ".starter-registered"
    if not marker.exists():
        logs = cloud.logs() if hasattr(cloud, "logs") else ""
        pytest.fail("the starter image was not registered:\n" + logs)
    return json.loads(marker.read_text())["emi"]


def write_pem(path: Path, material: str) -> Path:
    """``material`` (a KeyMaterial) saved at ``path``, readable by its owner only."""
    path.write_text(material)
    path.chmod(0o600)
    return path


def ssh_argv(ns: str, pem, address: str) -> list[str]:
    """ssh as root to ``address`` with the key ``pem``, from inside namespace ``ns``; the
    remote command is appended by the caller."""
    return ["ip", "netns", "exec", ns, "ssh", "-i", str(pem), *SSH_OPTIONS, f"root@{address}"]


def ssh(ns: str, pem, address: str, command: str,
        timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*ssh_argv(ns, pem, address), command], capture_output=True,
                          text=True, timeout=timeout)


def by_id(answer: dict) -> dict[str, dict]:
    """The instances of a DescribeInstances answer by instance id."""
    return {i["InstanceId"]: i for r in answer["Reservations"] for i in r["Instances"]}


def instances(ec2, ids) -> dict[str, dict]:
    return by_id(ec2.describe_instances(InstanceIds=list(ids)))


def instance(ec2, iid: str) -> dict:
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def wait_instances(ec2, ids, state: str, timeout: float, what: str) -> dict[str, dict]:
    """Wait until every instance of ``ids`` is in ``state``; they by id."""
    return wait_for(lambda: (found := instances(ec2, ids)) and all(
        i["State"]["Name"] == state for i in found.values()) and found, timeout, what)


class Timings(dict):
    """Seconds each named step of a test took."""

    def timed(self, name: str, fn):
        """``fn()``, its duration kept under ``name``."""
        started = time.monotonic()
        value = fn()
        self[name] = time.monotonic() - started
        return value


class Guests:
    """SSH into instances (from inside namespace ``ns``, ``addresses``: instance id ->
    address) with one key, and what the volume tests look for in them."""

    def __init__(self, ns: str, pem, addresses: dict[str, str]):
        self.ns, self.pem, self.addresses = ns, pem, addresses

    def ssh(self, iid: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return ssh(self.ns, self.pem, self.addresses[iid], command, timeout)

    def disk_of(self, iid: str, volume_id: str, timeout: float = 30) -> str:
        """The guest's block device whose serial is ``volume_id`` (waits for it)."""
        find = ("for d in /sys/block/vd*; do [ \"$(cat $d/serial 2>/dev/null)\" = "
                f"\"{volume_id}\" ] && echo ${{d##*/}}; done; true")
        return wait_for(lambda: self.ssh(iid, find).stdout.strip(), timeout,
                        f"{volume_id} in the guest of {iid}")

    def gone(self, iid: str, volume_id: str) -> bool:
        out = self.ssh(iid, "cat /sys/block/vd*/serial 2>/dev/null; true").stdout
        return volume_id not in out.split()

    def write_random(self, iid: str, device: str) -> str:
        """Write DATA_MIB MiB of random bytes to ``/dev/<device>``; the md5 read back."""
        done = self.ssh(iid, f"dd if=/dev/urandom of=/dev/{device} bs=1M count={DATA_MIB} "
                             f"conv=fsync 2>/dev/null && sync && dd if=/dev/{device} bs=1M "
                             f"count={DATA_MIB} 2>/dev/null | md5sum")
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[0]

    def checksum(self, iid: str, device: str) -> str:
        done = self.ssh(iid, f"dd if=/dev/{device} bs=1M count={DATA_MIB} 2>/dev/null | md5sum")
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[0]
