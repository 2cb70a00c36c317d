"""A snapshot crosses availability zones with real guests: the cloud's own zone A and a second
zone B (tests.system.second_zone: its own CC, SC, NC, data directory and namespace).

An instance in zone A gets a volume of zone A; over SSH it writes 4 MiB of random bytes and
their checksum is read back; the volume is snapshotted to Walrus; a volume of zone B is made
from that snapshot (SC B restores what SC A stored), attached to an instance in zone B, which
reads the same checksum. Two guests in all; a volume of zone A does not attach in zone B.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from eucalyptus.cc.vnet.netns import namespace_name
from tests.cloud_fixture import Cloud
from tests.system.second_zone import SecondZone

pytestmark = [pytest.mark.system]
BOOT_TIMEOUT = 180
DATA_MIB = 4
ZONE_B = "eucalyptus-1b"
VM_ENV = {"EUCA_NC_POLLING_FREQUENCY": "1", "EUCA_HYPERVISOR": "tcg"}


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def zones(tmp_path_factory):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun")
    for binary in ("qemu-system-x86_64", "qemu-storage-daemon"):
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} is missing (make installs qemu-system-x86 and qemu-utils)")
    work = tmp_path_factory.mktemp("zones-cloud")
    cloud = Cloud.start(work / "data", dict(VM_ENV), timeout=300)
    try:
        zone_b = SecondZone(cloud, work, ZONE_B, env=dict(VM_ENV)).start()
    except BaseException:
        cloud.stop()
        raise
    yield cloud, zone_b
    zone_b.stop()
    cloud.stop()


def _ssh(ns: str, pem, address: str, command: str, timeout: float = 60):
    return subprocess.run(
        ["ip", "netns", "exec", ns, "ssh", "-i", str(pem), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes",
         f"root@{address}", command], capture_output=True, text=True, timeout=timeout)


def _disk_of(ns: str, pem, address: str, volume_id: str) -> str:
    find = ("for d in /sys/block/vd*; do [ \"$(cat $d/serial 2>/dev/null)\" = "
            f"\"{volume_id}\" ] && echo ${{d##*/}}; done; true")
    return _wait(lambda: _ssh(ns, pem, address, find).stdout.strip(), 60,
                 f"{volume_id} in the guest at {address}")


def test_snapshot_of_zone_a_restores_in_zone_b(zones, tmp_path):
    cloud, zone_b = zones
    marker = cloud.data_dir / ".starter-registered"
    if not marker.exists():
        pytest.fail("the starter image was not registered:\n" + cloud.logs())
    emi = json.loads(marker.read_text())["emi"]
    ec2 = cloud.client("ec2")
    zone_a = cloud.settings.zone
    assert {z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]} \
        == {zone_a, ZONE_B}
    key = ec2.create_key_pair(KeyName="zones-test", KeyType="ed25519")
    pem = tmp_path / "key.pem"
    pem.write_text(key["KeyMaterial"])
    pem.chmod(0o600)
    ns = {zone_a: namespace_name(cloud.data_dir), ZONE_B: zone_b.namespace}

    started = {z: ec2.run_instances(ImageId=emi, MinCount=1, MaxCount=1,
                                    InstanceType="t1.micro", KeyName="zones-test",
                                    Placement={"AvailabilityZone": z})["Instances"][0]
               for z in (zone_a, ZONE_B)}
    ids = {z: i["InstanceId"] for z, i in started.items()}
    made: list[str] = []
    snapshot_id = ""

    def described() -> dict:
        out = ec2.describe_instances(InstanceIds=list(ids.values()))
        return {i["Placement"]["AvailabilityZone"]: i
                for r in out["Reservations"] for i in r["Instances"]}

    def volume(vid: str) -> dict:
        return ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    try:
        _wait(lambda: all(i["State"]["Name"] == "running" for i in described().values()),
              BOOT_TIMEOUT, "both instances running")
        address = {z: i["PrivateIpAddress"] for z, i in described().items()}
        for z in (zone_a, ZONE_B):
            _wait(lambda: _ssh(ns[z], pem, address[z], "true").returncode == 0, BOOT_TIMEOUT,
                  f"ssh into the instance of {z}")

        vol_a = ec2.create_volume(AvailabilityZone=zone_a, Size=1)["VolumeId"]
        made.append(vol_a)
        _wait(lambda: volume(vol_a)["State"] == "available", 60, "the volume of zone A")
        with pytest.raises(ClientError) as err:
            ec2.attach_volume(VolumeId=vol_a, InstanceId=ids[ZONE_B], Device="/dev/sdf")
        assert err.value.response["Error"]["Code"] == "InvalidVolume.ZoneMismatch"
        ec2.attach_volume(VolumeId=vol_a, InstanceId=ids[zone_a], Device="/dev/sdf")
        dev = _disk_of(ns[zone_a], pem, address[zone_a], vol_a)
        write = _ssh(ns[zone_a], pem, address[zone_a],
                     f"dd if=/dev/urandom of=/dev/{dev} bs=1M count={DATA_MIB} conv=fsync "
                     f"2>/dev/null && sync && dd if=/dev/{dev} bs=1M count={DATA_MIB} "
                     "2>/dev/null | md5sum")
        assert write.returncode == 0, write.stderr
        written = write.stdout.split()[0]

        snapshot_id = ec2.create_snapshot(VolumeId=vol_a)["SnapshotId"]
        _wait(lambda: ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0][
            "State"] == "completed", 180, "the snapshot")
        vol_b = ec2.create_volume(AvailabilityZone=ZONE_B, SnapshotId=snapshot_id)["VolumeId"]
        made.append(vol_b)
        _wait(lambda: volume(vol_b)["State"] == "available", 180,
              "the volume of zone B from the snapshot")
        ec2.attach_volume(VolumeId=vol_b, InstanceId=ids[ZONE_B], Device="/dev/sdf")
        dev_b = _disk_of(ns[ZONE_B], pem, address[ZONE_B], vol_b)
        read = _ssh(ns[ZONE_B], pem, address[ZONE_B],
                    f"dd if=/dev/{dev_b} bs=1M count={DATA_MIB} 2>/dev/null | md5sum")
        assert read.returncode == 0, read.stderr
        assert read.stdout.split()[0] == written
    except BaseException:
        print(cloud.logs())
        print(zone_b.logs())
        raise
    finally:
        ec2.terminate_instances(InstanceIds=list(ids.values()))
        _wait(lambda: all(i["State"]["Name"] == "terminated"
                          for i in described().values()), 120, "both terminated")
        for vid in made:
            _wait(lambda: volume(vid)["State"] == "available", 60, f"{vid} released")
            ec2.delete_volume(VolumeId=vid)
        if snapshot_id:
            ec2.delete_snapshot(SnapshotId=snapshot_id)
