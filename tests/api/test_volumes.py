"""The EBS volume API end to end with boto3 and the AWS CLI, on a cloud whose node boots nothing
(tests.fakes FakeDriver) and whose storage controller is real: volumes made and exported by the
SC, attached through the CC to the node's hypervisor double (which records the NBD export it
was handed), detached, released when their instance terminates; every error code; accounts
kept apart.

``ebs_cloud`` (session-wide, one per worker and database backend) is shared with
test_snapshots and test_cli_volumes (which runs on SQLite only); ``launch`` starts one instance
of the bundles it registers.
"""
from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from eucalyptus.cli.accounts import ACCOUNT_ADMIN, delegate_to
from tests import polling
from tests.api.test_instances import FAKE_NODE, register_bundles
from tests.cloud_fixture import Cloud


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def ebs_cloud(request, tmp_path_factory, _shared_clouds):
    """A cloud with a fake-hypervisor node and registered bundles (``.images``), on the
    parametrised database."""
    name = f"ebs-{request.param}"
    if name not in _shared_clouds:
        env = dict(FAKE_NODE)
        if request.param == "postgresql":
            env["EUCA_DATABASE_URL"] = request.getfixturevalue("postgres").create_database()
        work = tmp_path_factory.mktemp(name)
        running = Cloud.start(work / "data", env)
        _shared_clouds[name] = running
        running.images = register_bundles(running, work, "ebs-images")
    return _shared_clouds[name]


# the fake node answers quickly: poll more often than on real guests
wait_for = functools.partial(polling.wait_for, interval=0.2)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def zone_of(cloud) -> str:
    return cloud.client("ec2").describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]


def volume(ec2, vid: str) -> dict:
    return ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]


def launch(cloud, ec2=None) -> str:
    ec2 = ec2 or cloud.client("ec2")
    iid = ec2.run_instances(ImageId=cloud.images["machine"], MinCount=1, MaxCount=1,
                            InstanceType="t1.micro")["Instances"][0]["InstanceId"]
    wait_for(lambda: ec2.describe_instances(InstanceIds=[iid])["Reservations"][0][
        "Instances"][0]["State"]["Name"] == "running", 60, f"{iid} running")
    return iid


def guest_disks(cloud, iid: str) -> dict:
    state = cloud.data_dir / "instances" / iid / "fake-guest.json"
    return json.loads(state.read_text()).get("disks", {})


def account_client(cloud, name: str):
    """(account id, ec2 client) of a new account's admin."""
    iam = cloud.client("iam")
    account_id = iam.create_account(AccountName=name)["Account"]["AccountId"]
    delegate_to(iam, "CreateAccessKey", name)
    key = iam.create_access_key(UserName=ACCOUNT_ADMIN)["AccessKey"]
    return account_id, cloud.client("ec2", aws_access_key_id=key["AccessKeyId"],
                                    aws_secret_access_key=key["SecretAccessKey"])


def test_create_describe_tag_delete(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    out = ec2.create_volume(AvailabilityZone=zone, Size=2, VolumeType="gp2", TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "api"}]}])
    vid = out["VolumeId"]
    assert (out["State"], out["Size"], out["AvailabilityZone"]) == ("available", 2, zone)
    got = volume(ec2, vid)
    assert got["Tags"] == [{"Key": "Name", "Value": "api"}] and got["Attachments"] == []
    assert got["VolumeType"] == "gp2" and got["Encrypted"] is False
    waiter = ec2.get_waiter("volume_available")
    waiter.wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"]
    assert tags == [{"Key": "Name", "Value": "api", "ResourceId": vid, "ResourceType": "volume"}]
    status = ec2.describe_volume_status(VolumeIds=[vid])["VolumeStatuses"][0]
    assert status["VolumeStatus"]["Status"] == "ok"
    assert ec2.describe_volume_attribute(VolumeId=vid, Attribute="autoEnableIO")[
        "AutoEnableIO"]["Value"] is False
    assert vid in {v["VolumeId"] for v in ec2.describe_volumes(Filters=[
        {"Name": "size", "Values": ["2"]}, {"Name": "tag:Name", "Values": ["api"]}])["Volumes"]}
    ec2.delete_volume(VolumeId=vid)
    assert code_of(ec2.describe_volumes, VolumeIds=[vid]) == "InvalidVolume.NotFound"
    assert code_of(ec2.delete_volume, VolumeId=vid) == "InvalidVolume.NotFound"


def test_create_errors(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    assert code_of(ec2.create_volume, AvailabilityZone="nowhere-9z", Size=1) == \
        "InvalidZone.NotFound"
    assert code_of(ec2.create_volume, AvailabilityZone=zone) == "MissingParameter"
    assert code_of(ec2.create_volume, Size=1) == "MissingParameter"
    assert code_of(ec2.create_volume, AvailabilityZone=zone, Size=2000) == \
        "InvalidParameterValue"
    assert code_of(ec2.create_volume, AvailabilityZone=zone, Size=1, VolumeType="disk") == \
        "InvalidParameterValue"
    assert code_of(ec2.create_volume, AvailabilityZone=zone, SnapshotId="snap-00000000") == \
        "InvalidSnapshot.NotFound"
    assert code_of(ec2.describe_volumes, VolumeIds=["vol-bad"]) == "InvalidVolumeID.Malformed"
    assert code_of(ec2.describe_volumes, Filters=[{"Name": "flavour", "Values": ["x"]}]) == \
        "InvalidParameterValue"
    assert code_of(ec2.describe_volume_attribute, VolumeId="vol-00000000",
                   Attribute="autoEnableIO") == "InvalidVolume.NotFound"


def test_attach_detach_through_cluster_and_node(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    iid = launch(ebs_cloud)
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    other = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    try:
        out = ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
        assert (out["State"], out["Device"], out["InstanceId"]) == ("attaching", "/dev/sdf", iid)
        got = volume(ec2, vid)
        assert got["State"] == "in-use"
        assert got["Attachments"][0]["State"] == "attached"
        ec2.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1})
        disk = guest_disks(ebs_cloud, iid)[vid]
        assert disk["export"] and (Path(disk["nbd_socket"]).is_socket() or disk["nbd_port"])
        filtered = ec2.describe_volumes(Filters=[
            {"Name": "attachment.instance-id", "Values": [iid]},
            {"Name": "attachment.device", "Values": ["/dev/sdf"]}])["Volumes"]
        assert [v["VolumeId"] for v in filtered] == [vid]
        assert code_of(ec2.delete_volume, VolumeId=vid) == "VolumeInUse"
        assert code_of(ec2.attach_volume, VolumeId=vid, InstanceId=iid,
                       Device="/dev/sdg") == "VolumeInUse"
        assert code_of(ec2.attach_volume, VolumeId=other, InstanceId=iid,
                       Device="/dev/sdf") == "InvalidParameterValue"
        assert code_of(ec2.attach_volume, VolumeId=other, InstanceId="i-00000000",
                       Device="/dev/sdg") == "InvalidInstanceID.NotFound"
        assert code_of(ec2.attach_volume, VolumeId=other, InstanceId=iid,
                       Device="floppy") == "InvalidParameterValue"
        assert code_of(ec2.detach_volume, VolumeId=vid, InstanceId="i-00000000") == \
            "InvalidInstanceID.NotFound"
        assert code_of(ec2.detach_volume, VolumeId=vid, Device="/dev/sdz") == \
            "InvalidAttachment.NotFound"
        assert code_of(ec2.detach_volume, VolumeId=other) == "IncorrectState"
        out = ec2.detach_volume(VolumeId=vid, InstanceId=iid)
        assert out["State"] == "detaching"
        assert volume(ec2, vid)["State"] == "available"
        assert vid not in guest_disks(ebs_cloud, iid)
        ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
        ec2.detach_volume(VolumeId=vid, Force=True)
        assert volume(ec2, vid)["State"] == "available"
    finally:
        ec2.terminate_instances(InstanceIds=[iid])


def test_terminate_detaches_and_honours_delete_on_termination(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    iid = launch(ebs_cloud)
    keep = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    ec2.attach_volume(VolumeId=keep, InstanceId=iid, Device="/dev/sdf")
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for(lambda: volume(ec2, keep)["State"] == "available", 30, "the volume released")
    iid = launch(ebs_cloud)
    ec2.attach_volume(VolumeId=keep, InstanceId=iid, Device="/dev/sdh")
    assert volume(ec2, keep)["Attachments"][0]["InstanceId"] == iid
    ec2.detach_volume(VolumeId=keep)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_volume(VolumeId=keep)


def test_attach_to_an_instance_that_is_not_running(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    iid = launch(ebs_cloud)
    ec2.terminate_instances(InstanceIds=[iid])
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    assert code_of(ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/sdf") == \
        "IncorrectInstanceState"
    ec2.delete_volume(VolumeId=vid)


def test_accounts_are_kept_apart(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    _, other = account_client(ebs_cloud, f"ebsiso{int(time.time() * 1000) % 10**9}")
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    assert vid not in {v["VolumeId"] for v in other.describe_volumes()["Volumes"]}
    assert code_of(other.describe_volumes, VolumeIds=[vid]) == "InvalidVolume.NotFound"
    assert code_of(other.delete_volume, VolumeId=vid) == "InvalidVolume.NotFound"
    assert code_of(other.create_snapshot, VolumeId=vid) == "InvalidVolume.NotFound"
    assert code_of(other.create_tags, Resources=[vid], Tags=[{"Key": "a", "Value": "b"}]) == \
        "InvalidVolume.NotFound"
    ec2.delete_volume(VolumeId=vid)


@pytest.mark.parametrize("ebs_cloud", ["sqlite"], indirect=True)
def test_aws_cli_volume_commands_and_errors(ebs_cloud):
    zone = zone_of(ebs_cloud)
    done = ebs_cloud.aws("ec2", "create-volume", "--availability-zone", zone, "--size", "1")
    assert done.returncode == 0, done.stderr
    vid = json.loads(done.stdout)["VolumeId"]
    assert volume(ebs_cloud.client("ec2"), vid)["State"] == "available"
    for argv, code in (
            (("create-volume", "--availability-zone", "nowhere-9z", "--size", "1"),
             "InvalidZone.NotFound"),
            (("attach-volume", "--volume-id", vid, "--instance-id", "i-00000000", "--device",
              "/dev/sdf"), "InvalidInstanceID.NotFound"),
            (("detach-volume", "--volume-id", vid), "IncorrectState")):
        failed = ebs_cloud.aws("ec2", *argv)
        assert failed.returncode != 0 and f"({code})" in failed.stderr, failed.stderr
    assert ebs_cloud.aws("ec2", "delete-volume", "--volume-id", vid).returncode == 0
