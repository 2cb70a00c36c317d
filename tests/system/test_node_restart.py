"""The node controller dies, the guest lives: a whole cloud started component by component
exactly as ``eucalyptus up`` starts it (its Supervisor), the node administered with the
singular admin commands (deregister-node / register-node, disable-node: no placement and no
capacity / enable-node), one real guest launched from the starter image, then the NC process
SIGKILLed by its PID. ``up`` does not restart a component (it stops the whole cloud when one
exits), so the test starts the NC again the way the supervisor does (``Supervisor.spawn``).
Meanwhile the guest keeps running and answers SSH; the new NC re-adopts it and
DescribeInstances still reports it running. One guest boot."""
from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError

from eucalyptus.cc.vnet.netns import namespace_name
from eucalyptus.drivers.hypervisor.qemu import process_alive, read_pid
from tests.cloud_fixture import free_port_base
from tests.system.guests import instance, require_guests, ssh, starter_emi, wait_for, write_pem

pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 120


class Started:
    """A cloud whose components the test's own Supervisor started."""

    def __init__(self, supervisor, data_dir):
        from eucalyptus.credentials import parse_eucarc
        self.sup, self.data_dir = supervisor, data_dir
        self.env = parse_eucarc((data_dir / "credentials" / "eucarc").read_text())

    def client(self, service: str):
        import boto3
        from botocore.config import Config
        from eucalyptus.aws.specs import botocore_session_with_overlays
        urls = {"ec2": "EC2_URL", "s3": "S3_URL", "iam": "EUARE_URL"}
        session = boto3.session.Session(botocore_session=botocore_session_with_overlays())
        return session.client(service, endpoint_url=self.env[urls[service]],
                              region_name=self.env["AWS_DEFAULT_REGION"],
                              aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
                              config=Config(retries={"max_attempts": 1}, read_timeout=60))

    def admin(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "eucalyptus.cli.admin", *args,
                               "--data-dir", str(self.data_dir)], capture_output=True,
                              text=True, timeout=60)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    require_guests()
    from eucalyptus.cli.admin_init import init
    from eucalyptus.cli.admin_up import Supervisor
    from eucalyptus.config import ports_from_base
    data = tmp_path_factory.mktemp("nc-restart") / "data"
    settings = init(data, {**ports_from_base(free_port_base()), "HYPERVISOR": "tcg",
                           "NC_POLLING_FREQUENCY": "1", "STARTER_IMAGE": "yes"},
                    out=io.StringIO())
    sup = Supervisor(settings, out=io.StringIO(), ready_timeout=240)
    try:
        asyncio.run(sup.start())
        yield Started(sup, settings.data_dir)
    finally:
        sup.stop_all()
        from eucalyptus.cc.vnet.manager import remove_cloud_network
        if os.path.exists(f"/run/netns/{namespace_name(settings.data_dir)}"):
            remove_cloud_network(settings.data_dir)


def test_node_admin_commands(cloud):
    settings = cloud.sup.settings
    node = f"{settings.bind_address}:{settings.nc_port}"
    ec2 = cloud.client("ec2")
    emi = starter_emi(cloud)
    assert node in cloud.admin("describe-nodes").stdout
    assert cloud.admin("deregister-node", node).returncode == 0
    assert node not in cloud.admin("describe-nodes").stdout
    assert cloud.admin("register-node", node).returncode == 0
    wait_for(lambda: "up" in cloud.admin("describe-nodes").stdout, 30, "the node back up")

    def free_small() -> int:
        zones = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
        line = next(z["State"] for z in zones if "m1.small" in z["ZoneName"])
        return int(line.split()[0])

    assert free_small() > 0
    done = cloud.admin("disable-node", node)
    assert done.returncode == 0 and "disabled" in done.stdout
    assert free_small() == 0
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=emi, MinCount=1, MaxCount=1, InstanceType="t1.micro")
    assert err.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    saved = json.loads((cloud.data_dir / "cc" / "nodes.json").read_text())
    assert saved["nodes"][node]["enabled"] is False
    assert cloud.admin("enable-node", node).returncode == 0
    assert free_small() > 0
    assert cloud.admin("disable-node", "10.255.255.1").returncode == 1


def test_guest_survives_nc_kill_and_is_readopted(cloud, tmp_path):
    ec2 = cloud.client("ec2")
    emi = starter_emi(cloud)
    key = ec2.create_key_pair(KeyName="restart", KeyType="ed25519")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    iid = ec2.run_instances(ImageId=emi, MinCount=1, MaxCount=1, InstanceType="t1.micro",
                            KeyName="restart")["Instances"][0]["InstanceId"]
    ns = namespace_name(cloud.data_dir)

    def described() -> dict:
        return instance(ec2, iid)

    def guest_boot_id() -> subprocess.CompletedProcess:
        return ssh(ns, pem, described()["PrivateIpAddress"],
                   "cat /proc/sys/kernel/random/boot_id")

    try:
        wait_for(lambda: described()["State"]["Name"] == "running", BOOT_TIMEOUT, "running")
        boot_id = wait_for(lambda: (r := guest_boot_id()).returncode == 0 and r.stdout.strip(),
                           BOOT_TIMEOUT, "ssh before the kill")
        directory = cloud.data_dir / "instances" / iid
        qemu = read_pid(directory)
        nc = cloud.sup.children["nc"]
        os.kill(nc.pid, signal.SIGKILL)
        nc.wait(10)
        assert process_alive(qemu, directory)
        assert guest_boot_id().stdout.strip() == boot_id      # the guest never noticed

        cloud.sup.spawn("nc")                            # as the supervisor starts it
        asyncio.run(cloud.sup.wait_healthy("nc", time.monotonic() + 60))
        log = cloud.data_dir / "log" / "nc.log"
        wait_for(lambda: f"adopted {iid}" in log.read_text(errors="replace"), 30, "re-adoption")
        assert read_pid(directory) == qemu and process_alive(qemu, directory)
        wait_for(lambda: (i := described())["State"]["Name"] == "running"
                 and "StateReason" not in i, 60, "running again in DescribeInstances")
        assert guest_boot_id().stdout.strip() == boot_id
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
    wait_for(lambda: described()["State"]["Name"] == "terminated", 60, "terminated")
    assert not process_alive(qemu, directory)
