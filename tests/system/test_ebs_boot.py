"""An EBS-backed instance in a real guest through the whole cloud: a snapshot of a volume is
registered as the root device of an image with the starter kernel and ramdisk; the instance
boots with its root disk an NBD export of a new volume made from the snapshot (the tiny guest
mounts nothing, so it sees its root volume as a disk whose serial is the volume id); 4 MiB of
random bytes are written to it over SSH; StopInstances ends the QEMU guest and keeps the
volume attached; StartInstances boots it again from the same volume, where the bytes are;
TerminateInstances deletes the volume (DeleteOnTermination). One boot and one start. The
timings of each step are printed (run with -s to see them)."""
from __future__ import annotations

import time

import pytest

from eucalyptus.cc.vnet.netns import namespace_name
from tests.system.guests import (QEMU_AND_NBD, Guests, Timings, guest_cloud, instance,
                                 starter_emi, wait_for, write_pem)

pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 120
cloud = guest_cloud("ebs-boot", QEMU_AND_NBD)


def test_ebs_root_survives_stop_and_start(cloud, tmp_path):
    starter = starter_emi(cloud)
    ec2 = cloud.client("ec2")
    (emi,) = ec2.describe_images(ImageIds=[starter])["Images"]
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    key_name = f"ebs-boot-{time.time_ns()}"
    key = ec2.create_key_pair(KeyName=key_name, KeyType="ed25519")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    ns = namespace_name(cloud.data_dir)
    timings = Timings()
    timed = timings.timed

    def described(iid: str) -> dict:
        return instance(ec2, iid)

    def root_volumes(iid: str) -> list[dict]:
        return ec2.describe_volumes(Filters=[
            {"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]

    seed = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    wait_for(lambda: ec2.describe_volumes(VolumeIds=[seed])["Volumes"][0]["State"]
             == "available", 60, "the seed volume")
    snap = ec2.create_snapshot(VolumeId=seed)["SnapshotId"]
    wait_for(lambda: ec2.describe_snapshots(SnapshotIds=[snap])["Snapshots"][0]["State"]
             == "completed", 300, "the snapshot")
    ec2.delete_volume(VolumeId=seed)
    image = ec2.register_image(
        Name=f"ebs-starter-{time.time_ns()}", RootDeviceName="/dev/sda1", KernelId=emi["KernelId"],
        RamdiskId=emi["RamdiskId"],
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snap}}])["ImageId"]

    iid = timed("run until running", lambda: _launch(ec2, image, key_name, described))
    try:
        (root,) = root_volumes(iid)
        vid = root["VolumeId"]
        assert root["Attachments"][0]["Device"] == "/dev/sda1"
        assert described(iid)["RootDeviceType"] == "ebs"
        guests = Guests(ns, pem, {iid: described(iid)["PrivateIpAddress"]})
        timed("ssh after boot", lambda: wait_for(
            lambda: guests.ssh(iid, "true").returncode == 0, BOOT_TIMEOUT, "ssh"))
        dev = guests.disk_of(iid, vid)
        written = guests.write_random(iid, dev)

        ec2.stop_instances(InstanceIds=[iid])
        timed("stop until stopped", lambda: wait_for(
            lambda: described(iid)["State"]["Name"] == "stopped", 90, "stopped"))
        assert not (cloud.data_dir / "instances" / iid).exists()     # QEMU and files gone
        (kept,) = root_volumes(iid)
        assert kept["VolumeId"] == vid and kept["Attachments"][0]["State"] == "attached"

        ec2.start_instances(InstanceIds=[iid])
        timed("start until running", lambda: wait_for(
            lambda: described(iid)["State"]["Name"] == "running", BOOT_TIMEOUT, "running"))
        guests = Guests(ns, pem, {iid: described(iid)["PrivateIpAddress"]})
        timed("ssh after start", lambda: wait_for(
            lambda: guests.ssh(iid, "true").returncode == 0, BOOT_TIMEOUT, "ssh after start"))
        assert guests.checksum(iid, guests.disk_of(iid, vid)) == written
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
    timed("terminate until the volume is deleted", lambda: wait_for(
        lambda: not ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [vid]}])[
            "Volumes"], 90, "the root volume deleted"))
    for name, seconds in timings.items():
        print(f"{name:40s} {seconds:6.1f} s")


def _launch(ec2, image: str, key_name: str, described) -> str:
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t1.micro",
                            KeyName=key_name)["Instances"][0]["InstanceId"]
    wait_for(lambda: described(iid)["State"]["Name"] in ("running", "terminated"),
             BOOT_TIMEOUT, "running")
    assert described(iid)["State"]["Name"] == "running", described(iid).get("StateReason")
    return iid
