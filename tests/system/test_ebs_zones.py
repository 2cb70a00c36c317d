"""A snapshot crosses availability zones with real guests: the cloud's own zone A and a second
zone B (tests.system.second_zone: its own CC, SC, NC, data directory and namespace).

An instance in zone A gets a volume of zone A; over SSH it writes 4 MiB of random bytes and
their checksum is read back; the volume is snapshotted to Walrus; a volume of zone B is made
from that snapshot (SC B restores what SC A stored), attached to an instance in zone B, which
reads the same checksum. Two guests in all; a volume of zone A does not attach in zone B.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from eucalyptus.cc.vnet.netns import namespace_name
from tests.system.guests import (QEMU_AND_NBD, VM_ENV, Guests, require_guests, start_cloud,
                                 starter_emi, wait_for, wait_instances, write_pem)
from tests.system.second_zone import SecondZone

pytestmark = [pytest.mark.system]
BOOT_TIMEOUT = 180
ZONE_B = "eucalyptus-1b"


@pytest.fixture(scope="module")
def zones(tmp_path_factory):
    require_guests(QEMU_AND_NBD)
    cloud = start_cloud(tmp_path_factory, "zones-cloud")
    try:
        zone_b = SecondZone(cloud, cloud.data_dir.parent, ZONE_B, env=dict(VM_ENV)).start()
    except BaseException:
        cloud.stop()
        raise
    yield cloud, zone_b
    zone_b.stop()
    cloud.stop()


def test_snapshot_of_zone_a_restores_in_zone_b(zones, tmp_path):
    cloud, zone_b = zones
    emi = starter_emi(cloud)
    ec2 = cloud.client("ec2")
    zone_a = cloud.settings.zone
    assert {z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]} \
        == {zone_a, ZONE_B}
    key = ec2.create_key_pair(KeyName="zones-test", KeyType="ed25519")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    ns = {zone_a: namespace_name(cloud.data_dir), ZONE_B: zone_b.namespace}

    started = {z: ec2.run_instances(ImageId=emi, MinCount=1, MaxCount=1,
                                    InstanceType="t1.micro", KeyName="zones-test",
                                    Placement={"AvailabilityZone": z})["Instances"][0]
               for z in (zone_a, ZONE_B)}
    ids = {z: i["InstanceId"] for z, i in started.items()}
    made: list[str] = []
    snapshot_id = ""

    def volume(vid: str) -> dict:
        return ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    try:
        running = wait_instances(ec2, ids.values(), "running", BOOT_TIMEOUT,
                                 "both instances running")
        guests = {z: Guests(ns[z], pem, {ids[z]: running[ids[z]]["PrivateIpAddress"]})
                  for z in ids}
        for z in (zone_a, ZONE_B):
            wait_for(lambda: guests[z].ssh(ids[z], "true").returncode == 0, BOOT_TIMEOUT,
                     f"ssh into the instance of {z}")

        vol_a = ec2.create_volume(AvailabilityZone=zone_a, Size=1)["VolumeId"]
        made.append(vol_a)
        wait_for(lambda: volume(vol_a)["State"] == "available", 60, "the volume of zone A")
        with pytest.raises(ClientError) as err:
            ec2.attach_volume(VolumeId=vol_a, InstanceId=ids[ZONE_B], Device="/dev/sdf")
        assert err.value.response["Error"]["Code"] == "InvalidVolume.ZoneMismatch"
        ec2.attach_volume(VolumeId=vol_a, InstanceId=ids[zone_a], Device="/dev/sdf")
        written = guests[zone_a].write_random(
            ids[zone_a], guests[zone_a].disk_of(ids[zone_a], vol_a, timeout=60))

        snapshot_id = ec2.create_snapshot(VolumeId=vol_a)["SnapshotId"]
        wait_for(lambda: ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0][
            "State"] == "completed", 180, "the snapshot")
        vol_b = ec2.create_volume(AvailabilityZone=ZONE_B, SnapshotId=snapshot_id)["VolumeId"]
        made.append(vol_b)
        wait_for(lambda: volume(vol_b)["State"] == "available", 180,
                 "the volume of zone B from the snapshot")
        ec2.attach_volume(VolumeId=vol_b, InstanceId=ids[ZONE_B], Device="/dev/sdf")
        dev_b = guests[ZONE_B].disk_of(ids[ZONE_B], vol_b, timeout=60)
        assert guests[ZONE_B].checksum(ids[ZONE_B], dev_b) == written
    except BaseException:
        print(cloud.logs())
        print(zone_b.logs())
        raise
    finally:
        ec2.terminate_instances(InstanceIds=list(ids.values()))
        wait_instances(ec2, ids.values(), "terminated", 120, "both terminated")
        for vid in made:
            wait_for(lambda: volume(vid)["State"] == "available", 60, f"{vid} released")
            ec2.delete_volume(VolumeId=vid)
        if snapshot_id:
            ec2.delete_snapshot(SnapshotId=snapshot_id)
