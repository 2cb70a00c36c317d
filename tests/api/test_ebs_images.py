"""EBS-backed images and instances end to end with boto3, on the shared ``ebs_cloud`` (real
storage controller, node with the hypervisor double): RegisterImage from a snapshot, launch
from a new root volume (the node's spec names the NBD export), launch overrides, stop and
start keeping the volume, CreateImage, DeleteOnTermination, and the error codes.
"""
from __future__ import annotations

import json

import pytest

from tests.api.test_snapshots import completed
from tests.api.test_volumes import (code_of, ebs_cloud, volume, wait_for,  # noqa: F401
                                    zone_of)


def state(ec2, iid: str) -> str:
    return instance(ec2, iid)["State"]["Name"]


def instance(ec2, iid: str) -> dict:
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def node_spec(cloud, iid: str) -> dict:
    return json.loads((cloud.data_dir / "instances" / iid / "spec.json").read_text())


def guest_disks(cloud, iid: str) -> dict:
    path = cloud.data_dir / "instances" / iid / "fake-guest.json"
    return json.loads(path.read_text()).get("disks", {}) if path.exists() else {}


@pytest.fixture(scope="module")
def ebs_image(ebs_cloud):
    """(ec2, snapshot id, EBS-backed image id) with the cloud's kernel and ramdisk."""
    ec2 = ebs_cloud.client("ec2")
    vid = ec2.create_volume(AvailabilityZone=zone_of(ebs_cloud), Size=1)["VolumeId"]
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    completed(ec2, sid)
    image_id = ec2.register_image(
        Name="ebs-root", RootDeviceName="/dev/sda1", Architecture="x86_64",
        KernelId=ebs_cloud.images["kernel"], RamdiskId=ebs_cloud.images["ramdisk"],
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": sid}}])["ImageId"]
    return ec2, sid, image_id


def launch(ec2, image_id: str, **kwargs) -> str:
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="t1.micro",
                            **kwargs)["Instances"][0]["InstanceId"]
    wait_for(lambda: state(ec2, iid) == "running", 90, f"{iid} running")
    return iid


def root_volume(ec2, iid: str) -> dict:
    (vol,) = ec2.describe_volumes(Filters=[
        {"Name": "attachment.instance-id", "Values": [iid]},
        {"Name": "attachment.device", "Values": ["/dev/sda1"]}])["Volumes"]
    return vol


def test_register_describe(ebs_image, ebs_cloud):
    ec2, sid, image_id = ebs_image
    (image,) = ec2.describe_images(ImageIds=[image_id])["Images"]
    assert image["RootDeviceType"] == "ebs" and image["State"] == "available"
    assert image["ImageLocation"] == f"{image['OwnerId']}/ebs-root"
    assert image["KernelId"] == ebs_cloud.images["kernel"]
    assert image["BlockDeviceMappings"] == [{"DeviceName": "/dev/sda1", "Ebs": {
        "SnapshotId": sid, "VolumeSize": 1, "DeleteOnTermination": True,
        "VolumeType": "standard", "Encrypted": False}}]
    found = ec2.describe_images(Filters=[{"Name": "root-device-type", "Values": ["ebs"]},
                                         {"Name": "block-device-mapping.device-name",
                                          "Values": ["/dev/sda1"]}])["Images"]
    assert image_id in {i["ImageId"] for i in found}
    attr = ec2.describe_image_attribute(ImageId=image_id, Attribute="blockDeviceMapping")
    assert attr["BlockDeviceMappings"] == image["BlockDeviceMappings"]
    bundle = ec2.describe_images(ImageIds=[ebs_cloud.images["machine"]])["Images"][0]
    assert bundle["RootDeviceType"] == "instance-store"
    # a snapshot an image maps cannot go
    assert code_of(ec2.delete_snapshot, SnapshotId=sid) == "InvalidSnapshot.InUse"


def test_register_errors(ebs_image):
    ec2, sid, _image = ebs_image

    def register(name, mappings, **kw):
        return code_of(ec2.register_image, Name=name, BlockDeviceMappings=mappings, **kw)
    assert register("no-root", [{"DeviceName": "/dev/sdb", "Ebs": {"SnapshotId": sid}}]) \
        == "InvalidBlockDeviceMapping"
    assert register("bad-snap", [{"DeviceName": "/dev/sda1",
                                  "Ebs": {"SnapshotId": "snap-0000abcd"}}]) \
        == "InvalidSnapshot.NotFound"
    assert register("bad-dev", [{"DeviceName": "/dev/zz9", "Ebs": {"SnapshotId": sid}}]) \
        == "InvalidBlockDeviceMapping"
    assert register("twice", [{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": sid}},
                              {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": sid}}]) \
        == "InvalidBlockDeviceMapping"
    assert register("too-big", [{"DeviceName": "/dev/sda1",
                                 "Ebs": {"SnapshotId": sid, "VolumeSize": 5000}}]) \
        == "InvalidBlockDeviceMapping"
    assert register("ebs-root", [{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": sid}}]) \
        == "InvalidAMIName.Duplicate"


def test_launch_stop_start_create_image_terminate(ebs_image, ebs_cloud):
    ec2, sid, image_id = ebs_image
    iid = launch(ec2, image_id, BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 2}},
        {"DeviceName": "/dev/sdb", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}}])
    got = instance(ec2, iid)
    assert got["RootDeviceType"] == "ebs" and got["RootDeviceName"] == "/dev/sda1"
    root = root_volume(ec2, iid)
    assert (root["Size"], root["SnapshotId"], root["State"]) == (2, sid, "in-use")
    assert root["Attachments"][0]["DeleteOnTermination"] is True
    spec = node_spec(ebs_cloud, iid)
    assert spec["extra"]["root_volume"]["volume_id"] == root["VolumeId"]
    assert spec["kernel"] and spec["disk"] is None
    # the non-root volume is plugged into the running guest
    (data,) = ec2.describe_volumes(Filters=[
        {"Name": "attachment.device", "Values": ["/dev/sdb"]},
        {"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    wait_for(lambda: data["VolumeId"] in guest_disks(ebs_cloud, iid), 30, "the data volume")
    wait_for(lambda: volume(ec2, data["VolumeId"])["Attachments"][0]["State"] == "attached",
             30, "attached")
    devices = {m["DeviceName"]: m["Ebs"]["VolumeId"]
               for m in instance(ec2, iid)["BlockDeviceMappings"]}
    assert devices == {"/dev/sda1": root["VolumeId"], "/dev/sdb": data["VolumeId"]}
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="blockDeviceMapping")
    assert [m["DeviceName"] for m in attr["BlockDeviceMappings"]] == ["/dev/sda1", "/dev/sdb"]
    assert code_of(ec2.detach_volume, VolumeId=root["VolumeId"]) == "OperationNotPermitted"

    out = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (out["PreviousState"]["Name"], out["CurrentState"]["Name"]) == ("running",
                                                                          "stopping")
    wait_for(lambda: state(ec2, iid) == "stopped", 60, f"{iid} stopped")
    assert not (ebs_cloud.data_dir / "instances" / iid).exists()      # the guest is gone
    vol = volume(ec2, root["VolumeId"])
    assert vol["State"] == "in-use" and vol["Attachments"][0]["State"] == "attached"
    assert ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0][
        "CurrentState"]["Name"] == "stopped"

    made = ec2.create_image(InstanceId=iid, Name="from-stopped")["ImageId"]
    (image,) = ec2.describe_images(ImageIds=[made])["Images"]
    assert image["State"] in ("pending", "available") and image["RootDeviceType"] == "ebs"
    snaps = {m["DeviceName"]: m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]}
    assert set(snaps) == {"/dev/sda1", "/dev/sdb"}
    wait_for(lambda: ec2.describe_images(ImageIds=[made])["Images"][0]["State"] == "available",
             120, "the new image")
    snap = ec2.describe_snapshots(SnapshotIds=[snaps["/dev/sda1"]])["Snapshots"][0]
    assert snap["VolumeId"] == root["VolumeId"] and snap["VolumeSize"] == 2

    out = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (out["PreviousState"]["Name"], out["CurrentState"]["Name"]) == ("stopped",
                                                                          "pending")
    wait_for(lambda: state(ec2, iid) == "running", 90, f"{iid} running again")
    assert node_spec(ebs_cloud, iid)["extra"]["root_volume"]["volume_id"] == root["VolumeId"]
    wait_for(lambda: data["VolumeId"] in guest_disks(ebs_cloud, iid), 30, "data plugged again")

    ec2.terminate_instances(InstanceIds=[iid])
    wait_for(lambda: not ec2.describe_volumes(Filters=[
        {"Name": "volume-id", "Values": [root["VolumeId"]]}])["Volumes"], 60,
        "the root volume deleted")
    wait_for(lambda: volume(ec2, data["VolumeId"])["State"] == "available", 60,
             "the data volume released")
    ec2.delete_volume(VolumeId=data["VolumeId"])

    # the image made from the instance launches, with its own copy of the data volume
    second = launch(ec2, made)
    assert root_volume(ec2, second)["SnapshotId"] == snaps["/dev/sda1"]
    (copy,) = ec2.describe_volumes(Filters=[
        {"Name": "attachment.instance-id", "Values": [second]},
        {"Name": "attachment.device", "Values": ["/dev/sdb"]}])["Volumes"]
    assert copy["SnapshotId"] == snaps["/dev/sdb"]
    ec2.terminate_instances(InstanceIds=[second])
    wait_for(lambda: volume(ec2, copy["VolumeId"])["State"] == "available", 60, "released")
    ec2.delete_volume(VolumeId=copy["VolumeId"])


def test_stop_terminate_and_keep_root(ebs_image, ebs_cloud):
    ec2, _sid, image_id = ebs_image
    iid = launch(ec2, image_id, BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"DeleteOnTermination": False}}])
    made = ec2.create_image(InstanceId=iid, Name="from-running", NoReboot=True)["ImageId"]
    wait_for(lambda: ec2.describe_images(ImageIds=[made])["Images"][0]["State"] == "available",
             120, "image of a running instance")
    vid = root_volume(ec2, iid)["VolumeId"]
    ec2.stop_instances(InstanceIds=[iid])
    wait_for(lambda: state(ec2, iid) == "stopped", 60, "stopped")
    out = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert out["CurrentState"]["Name"] == "terminated"
    wait_for(lambda: volume(ec2, vid)["State"] == "available", 60, "root kept")
    assert instance(ec2, iid)["RootDeviceType"] == "ebs"
    ec2.delete_volume(VolumeId=vid)


def test_errors(ebs_image, ebs_cloud):
    ec2, sid, image_id = ebs_image
    store = ec2.run_instances(ImageId=ebs_cloud.images["machine"], MinCount=1, MaxCount=1,
                              InstanceType="t1.micro")["Instances"][0]["InstanceId"]
    assert code_of(ec2.stop_instances, InstanceIds=[store]) == "IncorrectInstanceState"
    assert code_of(ec2.start_instances, InstanceIds=[store]) == "IncorrectInstanceState"
    assert code_of(ec2.create_image, InstanceId=store, Name="nope") == "UnsupportedOperation"
    assert code_of(ec2.create_image, InstanceId="i-0000abcd", Name="nope") == \
        "InvalidInstanceID.NotFound"
    ec2.terminate_instances(InstanceIds=[store])
    assert code_of(ec2.run_instances, ImageId=image_id, MinCount=1, MaxCount=1,
                   BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "NoDevice": ""}]) == \
        "InvalidBlockDeviceMapping"
    assert code_of(ec2.run_instances, ImageId=image_id, MinCount=1, MaxCount=1,
                   BlockDeviceMappings=[{"DeviceName": "/dev/sdc", "Ebs": {}}]) == \
        "InvalidBlockDeviceMapping"
    before = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    assert code_of(ec2.run_instances, ImageId=image_id, MinCount=1, MaxCount=1,
                   InstanceType="no.such") == "InvalidParameterValue"
    assert {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]} == before


@pytest.fixture
def cli(ebs_cloud, monkeypatch, tmp_path):
    from tests.api.cli_runner import CommandRunner
    runner = CommandRunner(ebs_cloud, monkeypatch, tmp_path)
    yield runner
    runner.close()


@pytest.mark.parametrize("ebs_cloud", ["sqlite"], indirect=True)
def test_commands(ebs_image, ebs_cloud, cli):
    from eucalyptus.cli import images as image_cli
    from eucalyptus.cli import instances as instance_cli
    ec2, sid, _image = ebs_image
    kernel, ramdisk = ebs_cloud.images["kernel"], ebs_cloud.images["ramdisk"]
    out = cli(image_cli.register, "-n", "cli-ebs", "--snapshot", sid, "--kernel", kernel,
              "--ramdisk", ramdisk, "-b", "/dev/sdb=:1:false").ok()
    emi = out[0].split("\t")[1]
    record = cli(image_cli.describe_images, emi).ok()[0].split("\t")
    assert record[1] == emi and record[10] == "ebs"
    mappings = {m["DeviceName"]: m["Ebs"] for m in
                ec2.describe_images(ImageIds=[emi])["Images"][0]["BlockDeviceMappings"]}
    assert mappings["/dev/sda1"]["SnapshotId"] == sid
    assert mappings["/dev/sdb"] == {"VolumeSize": 1, "DeleteOnTermination": False,
                                    "VolumeType": "standard", "Encrypted": False}
    ran = cli(image_cli.register, "-n", "cli-bad", "-b", "/dev/sda1=bogus")
    assert ran.status == 1 and "snapshot" in ran.err
    ran = cli(image_cli.register, "-n", "cli-none")
    assert ran.status == 1 and "LOCATION" in ran.err

    out = cli(instance_cli.run_instances, emi, "-t", "t1.micro", "-b", "/dev/sda1=:2",
              "-b", "/dev/sdb=none").ok()
    iid = next(line.split("\t")[1] for line in out if line.startswith("INSTANCE"))
    wait_for(lambda: state(ec2, iid) == "running", 90, f"{iid} running")
    assert root_volume(ec2, iid)["Size"] == 2
    assert [m["DeviceName"] for m in instance(ec2, iid)["BlockDeviceMappings"]] == ["/dev/sda1"]
    made = cli(image_cli.create_image, iid, "-n", "cli-made", "--no-reboot").ok()
    assert made[0].startswith("IMAGE\temi-")
    assert cli(instance_cli.stop_instances, iid).ok()[0].split("\t")[1] == iid
    wait_for(lambda: state(ec2, iid) == "stopped", 60, "stopped")
    cli(instance_cli.start_instances, iid).ok()
    wait_for(lambda: state(ec2, iid) == "running", 90, "running")
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for(lambda: state(ec2, iid) == "terminated", 60, "terminated")
