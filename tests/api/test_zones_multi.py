"""Two availability zones in one cloud (fake hypervisor): the cloud's own cluster and a second
one started beside it (tests.system.second_zone) and registered with ``register-cluster``.

DescribeAvailabilityZones lists both (with each zone's capacity in ``verbose``); RunInstances
with Placement lands in the zone asked (on that zone's node, seen through its cluster
controller); an unknown zone is InvalidParameterValue; reboot, console and terminate reach
the instance's own cluster; CreateVolume in zone B is made by SC B only; AttachVolume across
zones is InvalidVolume.ZoneMismatch, within zone B it attaches; a volume of zone B is made from
a snapshot taken in zone A; the admin commands list and refuse what they should.
"""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from eucalyptus.cc.instance_messages import InstanceIds, InstanceViews
from eucalyptus.sc.messages import VolumeIds, VolumeInfos
from tests.api.test_instances import FAKE_NODE, register_bundles, wait_states
from tests.polling import wait_for
from tests.system.second_zone import SecondZone

ZONE_B = "eucalyptus-1b"


def _code(call, **params) -> str:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"]


@pytest.fixture
def two_zones(cloud_factory, tmp_path):
    cloud = cloud_factory(extra_env=dict(FAKE_NODE))
    zone = SecondZone(cloud, tmp_path, ZONE_B, env=dict(FAKE_NODE)).start()
    try:
        yield cloud, zone
    finally:
        zone.stop()


def test_instances_and_volumes_follow_their_zone(two_zones, tmp_path):
    cloud, zone_b = two_zones
    home = cloud.settings.zone
    ec2 = cloud.client("ec2")

    zones = {z["ZoneName"]: z for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    assert set(zones) == {home, ZONE_B}
    assert all(z["State"] == "available" for z in zones.values())
    assert zones[home]["ZoneId"] != zones[ZONE_B]["ZoneId"]
    verbose = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
    names = [z["ZoneName"] for z in verbose]
    assert home in names and ZONE_B in names and names.count("|- m1.small") == 2
    only_b = ec2.describe_availability_zones(ZoneNames=[ZONE_B])["AvailabilityZones"]
    assert [z["ZoneName"] for z in only_b] == [ZONE_B]

    images = register_bundles(cloud, tmp_path, f"zones-{uuid.uuid4().hex[:6]}")
    assert _code(ec2.run_instances, ImageId=images["machine"], MinCount=1, MaxCount=1,
                 Placement={"AvailabilityZone": "nowhere-1z"}) == "InvalidParameterValue"
    a = ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1,
                          )["Instances"][0]
    b = ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1,
                          Placement={"AvailabilityZone": ZONE_B})["Instances"][0]
    assert a["Placement"]["AvailabilityZone"] == home
    assert b["Placement"]["AvailabilityZone"] == ZONE_B
    ia, ib = a["InstanceId"], b["InstanceId"]
    wait_states(ec2, [ia, ib], "running", timeout=60)
    in_b = {v.instance_id: v for v in zone_b.call(
        "cc", "POST", "cluster/instances/describe", InstanceViews, InstanceIds()).instances}
    assert ib in in_b and ia not in in_b
    assert in_b[ib].node.endswith(f":{zone_b.settings.nc_port}")
    ec2.reboot_instances(InstanceIds=[ib])
    assert ec2.get_console_output(InstanceId=ib)["InstanceId"] == ib

    vol_b = ec2.create_volume(AvailabilityZone=ZONE_B, Size=1)["VolumeId"]
    vol_a = ec2.create_volume(AvailabilityZone=home, Size=1)["VolumeId"]
    held_by_b = {v.volume_id for v in zone_b.call(
        "sc", "POST", "sc/volumes/describe", VolumeInfos, VolumeIds()).volumes}
    assert vol_b in held_by_b and vol_a not in held_by_b
    described = ec2.describe_volumes(VolumeIds=[vol_a, vol_b])["Volumes"]
    assert {v["VolumeId"]: v["AvailabilityZone"] for v in described} == {vol_a: home,
                                                                          vol_b: ZONE_B}
    assert _code(ec2.create_volume, AvailabilityZone="nowhere-1z",
                 Size=1) == "InvalidZone.NotFound"
    assert _code(ec2.attach_volume, VolumeId=vol_b, InstanceId=ia,
                 Device="/dev/sdf") == "InvalidVolume.ZoneMismatch"
    assert _code(ec2.attach_volume, VolumeId=vol_a, InstanceId=ib,
                 Device="/dev/sdf") == "InvalidVolume.ZoneMismatch"
    ec2.attach_volume(VolumeId=vol_b, InstanceId=ib, Device="/dev/sdf")
    wait_for(lambda: ec2.describe_volumes(VolumeIds=[vol_b])["Volumes"][0]["Attachments"][0][
        "State"] == "attached", 30, "the attachment in zone B")
    ec2.detach_volume(VolumeId=vol_b)
    wait_for(lambda: ec2.describe_volumes(VolumeIds=[vol_b])["Volumes"][0]["State"] ==
             "available", 30, "the detachment in zone B")

    snap = ec2.create_snapshot(VolumeId=vol_a)["SnapshotId"]
    wait_for(lambda: ec2.describe_snapshots(SnapshotIds=[snap])["Snapshots"][0]["State"] ==
             "completed", 60, "the snapshot of zone A")
    restored = ec2.create_volume(AvailabilityZone=ZONE_B, SnapshotId=snap)["VolumeId"]
    wait_for(lambda: ec2.describe_volumes(VolumeIds=[restored])["Volumes"][0]["State"] ==
             "available", 60, "the volume of zone B from zone A's snapshot")
    assert restored in {v.volume_id for v in zone_b.call(
        "sc", "POST", "sc/volumes/describe", VolumeInfos, VolumeIds()).volumes}

    ec2.terminate_instances(InstanceIds=[ia, ib])
    wait_states(ec2, [ia, ib], "terminated", timeout=60)
    assert ib not in {v.instance_id for v in zone_b.call(
        "cc", "POST", "cluster/instances/describe", InstanceViews, InstanceIds()).instances
        if v.state != "terminated"}
    for vid in (vol_a, vol_b, restored):
        ec2.delete_volume(VolumeId=vid)
    ec2.delete_snapshot(SnapshotId=snap)


def test_cluster_admin_commands(two_zones):
    cloud, zone_b = two_zones
    listed = cloud.admin("describe-clusters")
    assert listed.returncode == 0, listed.stderr
    assert ZONE_B in listed.stdout and cloud.settings.zone in listed.stdout
    again = cloud.admin("register-cluster", "--zone", ZONE_B, "--cc",
                        zone_b.settings.url("cc"), "--sc", zone_b.settings.url("sc"))
    assert again.returncode == 1 and "InvalidParameterValue" in again.stderr
    wrong = cloud.admin("register-cluster", "--zone", "eucalyptus-1c", "--cc",
                        zone_b.settings.url("cc"), "--sc", zone_b.settings.url("sc"))
    assert wrong.returncode == 1 and "serves zone" in wrong.stderr
    home = cloud.admin("deregister-cluster", cloud.settings.zone)
    assert home.returncode == 1 and "cannot be deregistered" in home.stderr
    gone = cloud.admin("deregister-cluster", ZONE_B)
    assert gone.returncode == 0, gone.stderr
    zone_b.registered = False
    ec2 = cloud.client("ec2")
    assert [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]] \
        == [cloud.settings.zone]
    unknown = cloud.admin("deregister-cluster", ZONE_B)
    assert unknown.returncode == 1 and "InvalidZone.NotFound" in unknown.stderr
