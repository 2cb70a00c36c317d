"""Real guests through the whole cloud: the starter image registered at first start, two
instances launched with a new key pair through RunInstances, SSH into both with that key, the
guest's hostname, instance id and installed public key matching the API, user-data run, the
boot log in GetConsoleOutput, a real reboot, terminate killing QEMU and removing the files.
Three guest boots in all (two launches, one reboot)."""
from __future__ import annotations

import subprocess

import pytest

from eucalyptus.cc.vnet.netns import namespace_name
from eucalyptus.drivers.hypervisor.qemu import process_alive, read_pid
from tests.system.guests import (guest_cloud, ssh, starter_emi, wait_for, wait_instances,
                                 write_pem)

# Real guests under software emulation on 2 shared cores: one retry absorbs a slow boot.
pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 90
cloud = guest_cloud("ssh-cloud")


def test_two_guests_with_a_key_pair(cloud, tmp_path):
    emi = starter_emi(cloud)
    ec2 = cloud.client("ec2")
    key = ec2.create_key_pair(KeyName="ssh-test", KeyType="ed25519")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    user_data = "#!/bin/sh\necho made-by-user-data > /tmp/ud\n"
    res = ec2.run_instances(ImageId=emi, MinCount=2, MaxCount=2, InstanceType="t1.micro",
                            KeyName="ssh-test", UserData=user_data)
    ids = [i["InstanceId"] for i in res["Instances"]]
    ns = namespace_name(cloud.data_dir)
    try:
        found = wait_instances(ec2, ids, "running", BOOT_TIMEOUT, "both instances running")

        def in_guest(iid: str, command: str) -> subprocess.CompletedProcess:
            return ssh(ns, pem, found[iid]["PrivateIpAddress"], command)

        public = key_public(pem)
        for iid in ids:
            done = wait_for(lambda: (r := in_guest(iid, (
                "hostname; cat /root/.ssh/authorized_keys; wget -q -O - "
                "http://169.254.169.254/latest/meta-data/instance-id"))).returncode == 0 and r,
                BOOT_TIMEOUT, f"ssh into {iid}")
            lines = done.stdout.split("\n")
            assert lines[0] == found[iid]["PrivateDnsName"]
            assert public in done.stdout
            assert lines[-1].strip() == iid or iid in done.stdout.splitlines()[-1]
            wait_for(lambda: in_guest(iid, "cat /tmp/ud").stdout.strip() == "made-by-user-data",
                     30, "user-data")
        console = ec2.get_console_output(InstanceId=ids[0])["Output"]
        assert f"EUCALYPTUS-GUEST-READY instance={ids[0]}" in console
        assert "eucalyptus-init: metadata" in console

        boot_id = in_guest(ids[0], "cat /proc/sys/kernel/random/boot_id").stdout.strip()
        ec2.reboot_instances(InstanceIds=[ids[0]])
        wait_for(lambda: ec2.get_console_output(InstanceId=ids[0])["Output"].count(
            "EUCALYPTUS-GUEST-READY") == 2, BOOT_TIMEOUT, "the second boot")
        again = wait_for(lambda: (r := in_guest(ids[0], "cat /proc/sys/kernel/random/boot_id"))
                         .returncode == 0 and r.stdout.strip(), BOOT_TIMEOUT, "ssh after reboot")
        assert again != boot_id
    finally:
        dirs = {i: cloud.data_dir / "instances" / i for i in ids}
        pids = {i: read_pid(d) for i, d in dirs.items()}
        ec2.terminate_instances(InstanceIds=ids)
    wait_instances(ec2, ids, "terminated", BOOT_TIMEOUT, "terminated")
    for iid in ids:
        assert not dirs[iid].exists()
        assert not (pids[iid] and process_alive(pids[iid], dirs[iid]))


def key_public(pem) -> str:
    """The base64 body of the OpenSSH public key of ``pem``."""
    out = subprocess.run(["ssh-keygen", "-y", "-f", str(pem)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]
