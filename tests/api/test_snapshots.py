"""The EBS snapshot API end to end with boto3 and the AWS CLI on the real storage controller
(snapshots stored in Walrus): pending with progress, then completed; a volume restored from
it; sharing with another account (createVolumePermission) and public; owner and
restorable-by selections; filters; every error code."""
from __future__ import annotations

import json
import time

import pytest

from tests.api.test_volumes import (account_client, code_of, ebs_cloud, volume,  # noqa: F401
                                    wait_for, zone_of)


def snapshot(ec2, sid: str) -> dict:
    return ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]


def completed(ec2, sid: str, timeout: float = 120) -> dict:
    return wait_for(lambda: (s := snapshot(ec2, sid))["State"] == "completed" and s, timeout,
                    f"{sid} completed")


def test_snapshot_restore_share_delete(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    out = ec2.create_snapshot(VolumeId=vid, Description="api test", TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "kind", "Value": "api"}]}])
    sid = out["SnapshotId"]
    assert out["State"] in ("pending", "completed") and out["Progress"].endswith("%")
    assert (out["VolumeId"], out["VolumeSize"], out["Description"]) == (vid, 1, "api test")
    done = completed(ec2, sid)
    assert done["Progress"] == "100%" and done["Tags"] == [{"Key": "kind", "Value": "api"}]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig={"Delay": 1})

    restored = ec2.create_volume(AvailabilityZone=zone, SnapshotId=sid)
    assert (restored["SnapshotId"], restored["Size"]) == (sid, 1)
    wait_for(lambda: volume(ec2, restored["VolumeId"])["State"] == "available", 120,
             "the restored volume")

    other_id, other = account_client(ebs_cloud, f"ebssnap{int(time.time() * 1000) % 10**9}")
    assert code_of(other.describe_snapshots, SnapshotIds=[sid]) == "InvalidSnapshot.NotFound"
    assert code_of(other.create_volume, AvailabilityZone=zone, SnapshotId=sid) == \
        "InvalidSnapshot.NotFound"
    ec2.modify_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission",
                                  OperationType="add", UserIds=[other_id])
    perms = ec2.describe_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")
    assert perms["CreateVolumePermissions"] == [{"UserId": other_id}]
    assert [s["SnapshotId"] for s in other.describe_snapshots(
        RestorableByUserIds=["self"])["Snapshots"]] == [sid]
    assert other.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []
    theirs = other.create_volume(AvailabilityZone=zone, SnapshotId=sid)["VolumeId"]
    assert code_of(other.delete_snapshot, SnapshotId=sid) == "AuthFailure"
    assert code_of(other.modify_snapshot_attribute, SnapshotId=sid, OperationType="add",
                   Attribute="createVolumePermission", GroupNames=["all"]) == "AuthFailure"
    ec2.reset_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")
    assert other.describe_snapshots()["Snapshots"] == []
    ec2.modify_snapshot_attribute(SnapshotId=sid, CreateVolumePermission={
        "Add": [{"Group": "all"}]})
    assert sid in {s["SnapshotId"] for s in other.describe_snapshots(
        RestorableByUserIds=["all"])["Snapshots"]}
    wait_for(lambda: volume(other, theirs)["State"] == "available", 120, "their volume")
    other.delete_volume(VolumeId=theirs)

    assert code_of(ec2.delete_snapshot, SnapshotId="snap-00000000") == \
        "InvalidSnapshot.NotFound"
    assert code_of(ec2.describe_snapshots, SnapshotIds=["snapshot-1"]) == \
        "InvalidSnapshotID.Malformed"
    assert code_of(ec2.describe_snapshot_attribute, SnapshotId=sid, Attribute="bogus") == \
        "InvalidParameterValue"
    assert code_of(ec2.modify_snapshot_attribute, SnapshotId=sid, OperationType="add",
                   Attribute="createVolumePermission", UserIds=["abc"]) == \
        "InvalidUserID.Malformed"
    ec2.delete_snapshot(SnapshotId=sid)
    assert code_of(ec2.describe_snapshots, SnapshotIds=[sid]) == "InvalidSnapshot.NotFound"
    for v in (vid, restored["VolumeId"]):
        ec2.delete_volume(VolumeId=v)


def test_filters_owner_and_paging(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    account = ebs_cloud.env["EC2_ACCOUNT_NUMBER"]
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    sids = [ec2.create_snapshot(VolumeId=vid, Description=f"page {i}")["SnapshotId"]
            for i in range(6)]
    for sid in sids:
        completed(ec2, sid)
    mine = lambda **kw: {s["SnapshotId"] for s in  # noqa: E731
                         ec2.describe_snapshots(**kw)["Snapshots"]}
    assert set(sids) <= mine(OwnerIds=["self"])
    assert set(sids) <= mine(OwnerIds=[account])
    assert mine(Filters=[{"Name": "volume-id", "Values": [vid]}]) == set(sids)
    assert mine(Filters=[{"Name": "description", "Values": ["page 3"]}]) == {sids[3]}
    assert mine(Filters=[{"Name": "volume-id", "Values": [vid]},
                         {"Name": "status", "Values": ["completed"]},
                         {"Name": "progress", "Values": ["100%"]},
                         {"Name": "owner-id", "Values": [account]},
                         {"Name": "volume-size", "Values": ["1"]}]) == set(sids)
    assert code_of(ec2.describe_snapshots, Filters=[{"Name": "x", "Values": ["1"]}]) == \
        "InvalidParameterValue"
    pages = ec2.get_paginator("describe_snapshots").paginate(
        Filters=[{"Name": "volume-id", "Values": [vid]}], PaginationConfig={"PageSize": 5})
    sizes = [len(p["Snapshots"]) for p in pages]
    assert sum(sizes) == 6 and max(sizes) <= 5
    for sid in sids:
        ec2.delete_snapshot(SnapshotId=sid)
    ec2.delete_volume(VolumeId=vid)


@pytest.mark.parametrize("ebs_cloud", ["sqlite"], indirect=True)
def test_aws_cli_snapshot_commands(ebs_cloud):
    ec2, zone = ebs_cloud.client("ec2"), zone_of(ebs_cloud)
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    done = ebs_cloud.aws("ec2", "create-snapshot", "--volume-id", vid, "--description", "cli")
    assert done.returncode == 0, done.stderr
    sid = json.loads(done.stdout)["SnapshotId"]
    completed(ec2, sid)
    assert snapshot(ec2, sid)["Description"] == "cli"
    for argv, code in (
            (("delete-snapshot", "--snapshot-id", "snap-00000000"), "InvalidSnapshot.NotFound"),
            (("modify-snapshot-attribute", "--snapshot-id", sid, "--attribute",
              "createVolumePermission", "--operation-type", "add", "--group-names", "nobody"),
             "InvalidParameterValue")):
        failed = ebs_cloud.aws("ec2", *argv)
        assert failed.returncode != 0 and f"({code})" in failed.stderr, failed.stderr
    assert ebs_cloud.aws("ec2", "delete-snapshot", "--snapshot-id", sid).returncode == 0
    ec2.delete_volume(VolumeId=vid)
