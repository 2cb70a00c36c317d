"""EBS volumes in real guests through the whole cloud: a volume made by the storage controller,
exported over NBD and hot-plugged by the node into instance A; over SSH the guest finds the
disk by its serial (the volume id) in /sys/block/vd*/serial and writes 4 MiB of random bytes;
detached, attached to instance B, which reads the same checksum; snapshotted to Walrus while
attached to B, a volume restored from the snapshot and attached to A reads the same checksum
again. Two guests in all. The timings of each step are printed (run with -s to see them)."""
from __future__ import annotations

import pytest

from eucalyptus.cc.vnet.netns import namespace_name
from tests.system.guests import (QEMU_AND_NBD, Guests, Timings, guest_cloud, starter_emi,
                                 wait_for, wait_instances, write_pem)

pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 120
cloud = guest_cloud("ebs-cloud", QEMU_AND_NBD)


def test_volume_data_moves_between_guests_and_through_a_snapshot(cloud, tmp_path):
    emi = starter_emi(cloud)
    ec2 = cloud.client("ec2")
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    key = ec2.create_key_pair(KeyName="ebs-test", KeyType="ed25519")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    timings = Timings()
    timed = timings.timed

    def volume(vid: str) -> dict:
        return ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]

    res = ec2.run_instances(ImageId=emi, MinCount=2, MaxCount=2, InstanceType="t1.micro",
                            KeyName="ebs-test")
    a, b = [i["InstanceId"] for i in res["Instances"]]
    made: list[str] = []
    snapshot_id = ""
    try:
        running = wait_instances(ec2, [a, b], "running", BOOT_TIMEOUT, "both instances running")
        guests = Guests(namespace_name(cloud.data_dir), pem,
                        {i: d["PrivateIpAddress"] for i, d in running.items()})
        for iid in (a, b):
            wait_for(lambda: guests.ssh(iid, "true").returncode == 0, BOOT_TIMEOUT, f"ssh {iid}")

        vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
        made.append(vid)
        wait_for(lambda: volume(vid)["State"] == "available", 60, "the volume")

        def attach(volume_id: str, iid: str) -> str:
            ec2.attach_volume(VolumeId=volume_id, InstanceId=iid, Device="/dev/sdf")
            return guests.disk_of(iid, volume_id)

        dev = timed("attach to A until the guest sees it", lambda: attach(vid, a))
        assert volume(vid)["Attachments"][0]["State"] == "attached"
        written = guests.write_random(a, dev)

        def detach(volume_id: str, iid: str) -> None:
            ec2.detach_volume(VolumeId=volume_id, InstanceId=iid)
            wait_for(lambda: volume(volume_id)["State"] == "available", 60, "detached")
            assert guests.gone(iid, volume_id)
        timed("detach from A", lambda: detach(vid, a))

        dev_b = timed("attach to B until the guest sees it", lambda: attach(vid, b))
        assert guests.checksum(b, dev_b) == written

        snap = timed("create snapshot (call)", lambda: ec2.create_snapshot(VolumeId=vid))
        snapshot_id = snap["SnapshotId"]
        timed("snapshot completed", lambda: wait_for(lambda: ec2.describe_snapshots(
            SnapshotIds=[snapshot_id])["Snapshots"][0]["State"] == "completed", 300,
            "the snapshot"))
        assert guests.checksum(b, dev_b) == written       # still attached and usable
        restored = ec2.create_volume(AvailabilityZone=zone, SnapshotId=snapshot_id)["VolumeId"]
        made.append(restored)
        timed("restore completed", lambda: wait_for(
            lambda: volume(restored)["State"] == "available", 300, "the restored volume"))
        dev_r = timed("attach restored to A", lambda: attach(restored, a))
        assert guests.checksum(a, dev_r) == written
        timed("detach restored from A", lambda: detach(restored, a))
        timed("detach from B", lambda: detach(vid, b))
    finally:
        ec2.terminate_instances(InstanceIds=[a, b])
        print("\nEBS timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    wait_for(lambda: all(v["State"] == "available" for v in ec2.describe_volumes(
        VolumeIds=made)["Volumes"]), 60, "volumes released after terminate")
    for vid in made:
        ec2.delete_volume(VolumeId=vid)
    if snapshot_id:
        ec2.delete_snapshot(SnapshotId=snapshot_id)
