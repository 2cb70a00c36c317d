"""EBS volumes in real guests through the whole cloud: a volume made by the storage controller,
exported over NBD and hot-plugged by the node into instance A; over SSH the guest finds the
disk by its serial (the volume id) in /sys/block/vd*/serial and writes 4 MiB of random bytes;
detached, attached to instance B, which reads the same checksum; snapshotted to Walrus while
attached to B, a volume restored from the snapshot and attached to A reads the same checksum
again. Two guests in all. The timings of each step are printed (run with -s to see them)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from eucalyptus.cc.vnet.netns import namespace_name
from tests.cloud_fixture import Cloud

pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 120
DATA_MIB = 4


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun")
    for binary in ("qemu-system-x86_64", "qemu-storage-daemon"):
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} is missing (make installs qemu-system-x86 and qemu-utils)")
    work = tmp_path_factory.mktemp("ebs-cloud")
    running = Cloud.start(work / "data", {"EUCA_NC_POLLING_FREQUENCY": "1",
                                          "EUCA_HYPERVISOR": "tcg"}, timeout=300)
    yield running
    running.stop()


class Guests:
    """SSH into the cloud's instances (from inside the cloud's namespace) with one key."""

    def __init__(self, cloud, pem, addresses: dict[str, str]):
        self.ns = namespace_name(cloud.data_dir)
        self.pem, self.addresses = pem, addresses

    def ssh(self, iid: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ip", "netns", "exec", self.ns, "ssh", "-i", str(self.pem), "-o",
             "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
             "ConnectTimeout=5", "-o", "BatchMode=yes", f"root@{self.addresses[iid]}",
             command], capture_output=True, text=True, timeout=timeout)

    def disk_of(self, iid: str, volume_id: str, timeout: float = 30) -> str:
        """The guest's block device whose serial is ``volume_id`` (waits for it)."""
        find = ("for d in /sys/block/vd*; do [ \"$(cat $d/serial 2>/dev/null)\" = "
                f"\"{volume_id}\" ] && echo ${{d##*/}}; done; true")
        return _wait(lambda: self.ssh(iid, find).stdout.strip(), timeout,
                     f"{volume_id} in the guest of {iid}")

    def gone(self, iid: str, volume_id: str) -> bool:
        out = self.ssh(iid, "cat /sys/block/vd*/serial 2>/dev/null; true").stdout
        return volume_id not in out.split()

    def checksum(self, iid: str, device: str) -> str:
        done = self.ssh(iid, f"dd if=/dev/{device} bs=1M count={DATA_MIB} 2>/dev/null | md5sum")
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[0]


def test_volume_data_moves_between_guests_and_through_a_snapshot(cloud, tmp_path):
    marker = cloud.data_dir / ".starter-registered"
    if not marker.exists():
        pytest.fail("the starter image was not registered:\n" + cloud.logs())
    emi = json.loads(marker.read_text())["emi"]
    ec2 = cloud.client("ec2")
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    key = ec2.create_key_pair(KeyName="ebs-test", KeyType="ed25519")
    pem = tmp_path / "key.pem"
    pem.write_text(key["KeyMaterial"])
    pem.chmod(0o600)
    timings: dict[str, float] = {}

    def timed(name: str, fn):
        started = time.monotonic()
        value = fn()
        timings[name] = time.monotonic() - started
        return value

    def volume(vid: str) -> dict:
        return ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]

    res = ec2.run_instances(ImageId=emi, MinCount=2, MaxCount=2, InstanceType="t1.micro",
                            KeyName="ebs-test")
    a, b = [i["InstanceId"] for i in res["Instances"]]
    made: list[str] = []
    snapshot_id = ""
    try:
        def described():
            out = ec2.describe_instances(InstanceIds=[a, b])
            return {i["InstanceId"]: i for r in out["Reservations"] for i in r["Instances"]}
        _wait(lambda: all(i["State"]["Name"] == "running" for i in described().values()),
              BOOT_TIMEOUT, "both instances running")
        guests = Guests(cloud, pem, {i: d["PrivateIpAddress"] for i, d in described().items()})
        for iid in (a, b):
            _wait(lambda: guests.ssh(iid, "true").returncode == 0, BOOT_TIMEOUT, f"ssh {iid}")

        vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
        made.append(vid)
        _wait(lambda: volume(vid)["State"] == "available", 60, "the volume")

        def attach(volume_id: str, iid: str) -> str:
            ec2.attach_volume(VolumeId=volume_id, InstanceId=iid, Device="/dev/sdf")
            return guests.disk_of(iid, volume_id)

        dev = timed("attach to A until the guest sees it", lambda: attach(vid, a))
        assert volume(vid)["Attachments"][0]["State"] == "attached"
        write = guests.ssh(a, f"dd if=/dev/urandom of=/dev/{dev} bs=1M count={DATA_MIB} "
                              f"conv=fsync 2>/dev/null && sync && dd if=/dev/{dev} bs=1M "
                              f"count={DATA_MIB} 2>/dev/null | md5sum")
        assert write.returncode == 0, write.stderr
        written = write.stdout.split()[0]

        def detach(volume_id: str, iid: str) -> None:
            ec2.detach_volume(VolumeId=volume_id, InstanceId=iid)
            _wait(lambda: volume(volume_id)["State"] == "available", 60, "detached")
            assert guests.gone(iid, volume_id)
        timed("detach from A", lambda: detach(vid, a))

        dev_b = timed("attach to B until the guest sees it", lambda: attach(vid, b))
        assert guests.checksum(b, dev_b) == written

        snap = timed("create snapshot (call)", lambda: ec2.create_snapshot(VolumeId=vid))
        snapshot_id = snap["SnapshotId"]
        timed("snapshot completed", lambda: _wait(lambda: ec2.describe_snapshots(
            SnapshotIds=[snapshot_id])["Snapshots"][0]["State"] == "completed", 300,
            "the snapshot"))
        assert guests.checksum(b, dev_b) == written       # still attached and usable
        restored = ec2.create_volume(AvailabilityZone=zone, SnapshotId=snapshot_id)["VolumeId"]
        made.append(restored)
        timed("restore completed", lambda: _wait(
            lambda: volume(restored)["State"] == "available", 300, "the restored volume"))
        dev_r = timed("attach restored to A", lambda: attach(restored, a))
        assert guests.checksum(a, dev_r) == written
        timed("detach restored from A", lambda: detach(restored, a))
        timed("detach from B", lambda: detach(vid, b))
    finally:
        ec2.terminate_instances(InstanceIds=[a, b])
        print("\nEBS timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    _wait(lambda: all(v["State"] == "available" for v in ec2.describe_volumes(
        VolumeIds=made)["Volumes"]), 60, "volumes released after terminate")
    for vid in made:
        ec2.delete_volume(VolumeId=vid)
    if snapshot_id:
        ec2.delete_snapshot(SnapshotId=snapshot_id)
