"""Real guests through the whole cloud: the starter image registered at first start, two
instances launched with a new key pair through RunInstances, SSH into both with that key, the
guest's hostname, instance id and installed public key matching the API, user-data run, the
boot log in GetConsoleOutput, a real reboot, terminate killing QEMU and removing the files.
Three guest boots in all (two launches, one reboot)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from eucalyptus.cc.vnet.netns import namespace_name
from eucalyptus.drivers.hypervisor.qemu import process_alive, read_pid
from tests.cloud_fixture import Cloud

# Real guests under software emulation on 2 shared cores: one retry absorbs a slow boot.
pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 90


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun")
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86_64 is missing (make installs qemu-system-x86)")
    work = tmp_path_factory.mktemp("ssh-cloud")
    running = Cloud.start(work / "data", {"EUCA_NC_POLLING_FREQUENCY": "1",
                                          "EUCA_HYPERVISOR": "tcg"}, timeout=300)
    yield running
    running.stop()


def test_two_guests_with_a_key_pair(cloud, tmp_path):
    marker = cloud.data_dir / ".starter-registered"
    if not marker.exists():
        pytest.fail("the starter image was not registered:\n" + cloud.logs())
    emi = json.loads(marker.read_text())["emi"]
    ec2 = cloud.client("ec2")
    key = ec2.create_key_pair(KeyName="ssh-test", KeyType="ed25519")
    pem = tmp_path / "key.pem"
    pem.write_text(key["KeyMaterial"])
    pem.chmod(0o600)
    user_data = "#!/bin/sh\necho made-by-user-data > /tmp/ud\n"
    res = ec2.run_instances(ImageId=emi, MinCount=2, MaxCount=2, InstanceType="t1.micro",
                            KeyName="ssh-test", UserData=user_data)
    ids = [i["InstanceId"] for i in res["Instances"]]
    ns = namespace_name(cloud.data_dir)
    try:
        def described():
            out = ec2.describe_instances(InstanceIds=ids)
            return {i["InstanceId"]: i for r in out["Reservations"] for i in r["Instances"]}

        _wait(lambda: all(i["State"]["Name"] == "running" for i in described().values()),
              BOOT_TIMEOUT, "both instances running")
        found = described()

        def ssh(iid: str, command: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                ["ip", "netns", "exec", ns, "ssh", "-i", str(pem), "-o",
                 "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                 "ConnectTimeout=5", "-o", "BatchMode=yes",
                 f"root@{found[iid]['PrivateIpAddress']}", command],
                capture_output=True, text=True, timeout=30)

        public = key_public(pem)
        for iid in ids:
            done = _wait(lambda: (r := ssh(iid, "hostname; cat /root/.ssh/authorized_keys; "
                                           "wget -q -O - http://169.254.169.254/latest/"
                                           "meta-data/instance-id")).returncode == 0 and r,
                         BOOT_TIMEOUT, f"ssh into {iid}")
            lines = done.stdout.split("\n")
            assert lines[0] == found[iid]["PrivateDnsName"]
            assert public in done.stdout
            assert lines[-1].strip() == iid or iid in done.stdout.splitlines()[-1]
            _wait(lambda: ssh(iid, "cat /tmp/ud").stdout.strip() == "made-by-user-data",
                  30, "user-data")
        console = ec2.get_console_output(InstanceId=ids[0])["Output"]
        assert f"EUCALYPTUS-GUEST-READY instance={ids[0]}" in console
        assert "eucalyptus-init: metadata" in console

        boot_id = ssh(ids[0], "cat /proc/sys/kernel/random/boot_id").stdout.strip()
        ec2.reboot_instances(InstanceIds=[ids[0]])
        _wait(lambda: ec2.get_console_output(InstanceId=ids[0])["Output"].count(
            "EUCALYPTUS-GUEST-READY") == 2, BOOT_TIMEOUT, "the second boot")
        again = _wait(lambda: (r := ssh(ids[0], "cat /proc/sys/kernel/random/boot_id"))
                      .returncode == 0 and r.stdout.strip(), BOOT_TIMEOUT, "ssh after reboot")
        assert again != boot_id
    finally:
        dirs = {i: cloud.data_dir / "instances" / i for i in ids}
        pids = {i: read_pid(d) for i, d in dirs.items()}
        ec2.terminate_instances(InstanceIds=ids)
    _wait(lambda: all(i["State"]["Name"] == "terminated" for i in described().values()),
          BOOT_TIMEOUT, "terminated")
    for iid in ids:
        assert not dirs[iid].exists()
        assert not (pids[iid] and process_alive(pids[iid], dirs[iid]))


def key_public(pem) -> str:
    """The base64 body of the OpenSSH public key of ``pem``."""
    out = subprocess.run(["ssh-keygen", "-y", "-f", str(pem)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]
