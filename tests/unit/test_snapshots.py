"""Snapshot handlers on an in-process storage controller: create (pending with progress, then
completed through the sync), delete (in use, by owner only), describe (owners, restorable-by,
filters, paging, visibility), createVolumePermission attributes and volumes from shared
snapshots."""
from __future__ import annotations

from eucalyptus.services.ec2 import snapshots
from tests.unit.test_volumes import sync
from tests.unit.test_volumes_support import A, B, C, ZONE, ebs  # noqa: F401


def ids(ebs, account=A, **params) -> set[str]:
    return {s["SnapshotId"] for s in ebs.call("DescribeSnapshots", account, **params)[
        "Snapshots"]}


def test_pending_progress_then_completed(ebs):
    vid = ebs.volume(size=2)
    ebs.storage.snapshot_done = False
    out = ebs.call("CreateSnapshot", VolumeId=vid, Description="nightly", TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}])
    sid = out["SnapshotId"]
    assert sid.startswith("snap-")
    assert (out["State"], out["Progress"], out["VolumeSize"], out["OwnerId"]) == (
        "pending", "0%", 2, A)
    assert out["Description"] == "nightly" and out["Tags"] == [{"Key": "k", "Value": "v"}]
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, SnapshotId=sid) == "IncorrectState"
    ebs.storage.snapshots[sid].progress = 42
    sync(ebs)
    got = ebs.call("DescribeSnapshots", SnapshotIds=[sid])["Snapshots"][0]
    assert (got["State"], got["Progress"]) == ("pending", "42%")
    ebs.storage.snapshots[sid].state, ebs.storage.snapshots[sid].progress = "completed", 100
    sync(ebs)
    got = ebs.call("DescribeSnapshots", SnapshotIds=[sid])["Snapshots"][0]
    assert (got["State"], got["Progress"]) == ("completed", "100%")


def test_snapshot_of_an_attached_volume_and_refusals(ebs):
    vid, iid = ebs.volume(), ebs.instance("i-00000001")
    ebs.call("AttachVolume", VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    sid = ebs.call("CreateSnapshot", VolumeId=vid)["SnapshotId"]
    assert ebs.storage.snapshots[sid].volume_id == vid
    vols = ebs.call("DescribeVolumes", VolumeIds=[vid])["Volumes"]
    assert vols[0]["State"] == "in-use"
    assert ebs.code("CreateSnapshot") == "MissingParameter"
    assert ebs.code("CreateSnapshot", VolumeId="vol-0000000f") == "InvalidVolume.NotFound"
    assert ebs.code("CreateSnapshot", VolumeId=vid, Description="x" * 256) == \
        "InvalidParameterValue"


def test_delete(ebs):
    sid = ebs.call("CreateSnapshot", VolumeId=ebs.volume())["SnapshotId"]
    assert ebs.code("DeleteSnapshot", B, SnapshotId=sid) == "InvalidSnapshot.NotFound"
    ebs.call("ModifySnapshotAttribute", SnapshotId=sid, Attribute="createVolumePermission",
             OperationType="add", UserIds=[B])
    assert ebs.code("DeleteSnapshot", B, SnapshotId=sid) == "AuthFailure"
    snapshots.IN_USE_CHECKS.append(lambda s, snap: "image emi-1 maps it" if snap == sid
                                   else None)
    try:
        assert ebs.code("DeleteSnapshot", SnapshotId=sid) == "InvalidSnapshot.InUse"
    finally:
        snapshots.IN_USE_CHECKS.pop()
    ebs.call("DeleteSnapshot", SnapshotId=sid)
    assert ids(ebs) == set() and ebs.storage.snapshots[sid].state == "deleted"
    assert ebs.code("DeleteSnapshot", SnapshotId=sid) == "InvalidSnapshot.NotFound"
    assert ebs.code("DeleteSnapshot", SnapshotId="snap-1") == "InvalidSnapshotID.Malformed"


def test_visibility_owners_and_restorable_by(ebs):
    mine = ebs.call("CreateSnapshot", VolumeId=ebs.volume())["SnapshotId"]
    shared = ebs.call("CreateSnapshot", B, VolumeId=ebs.volume(B))["SnapshotId"]
    public = ebs.call("CreateSnapshot", C, VolumeId=ebs.volume(C))["SnapshotId"]
    private = ebs.call("CreateSnapshot", C, VolumeId=ebs.volume(C))["SnapshotId"]
    ebs.call("ModifySnapshotAttribute", B, SnapshotId=shared, CreateVolumePermission={
        "Add": [{"UserId": A}]})
    ebs.call("ModifySnapshotAttribute", C, SnapshotId=public, CreateVolumePermission={
        "Add": [{"Group": "all"}]})
    assert ids(ebs) == {mine, shared, public}
    assert ids(ebs, OwnerIds=["self"]) == {mine}
    assert ids(ebs, OwnerIds=[B]) == {shared}
    assert ids(ebs, RestorableByUserIds=["all"]) == {public}
    assert ids(ebs, RestorableByUserIds=["self"]) == {mine, shared, public}
    assert ids(ebs, RestorableByUserIds=[B]) == {shared, public}
    assert ids(ebs, OwnerIds=[C], RestorableByUserIds=["all"]) == {public}
    assert ebs.code("DescribeSnapshots", SnapshotIds=[private]) == "InvalidSnapshot.NotFound"
    assert ebs.code("DescribeSnapshots", OwnerIds=["someone"]) == "InvalidParameterValue"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, SnapshotId=private) == \
        "InvalidSnapshot.NotFound"
    restored = ebs.call("CreateVolume", AvailabilityZone=ZONE, SnapshotId=shared)
    assert restored["SnapshotId"] == shared
    assert ebs.code("CreateTags", Resources=[private], Tags=[{"Key": "a", "Value": "b"}]) == \
        "InvalidSnapshot.NotFound"
    ebs.call("CreateTags", Resources=[public], Tags=[{"Key": "mine", "Value": "yes"}])
    assert ids(ebs, Filters=[{"Name": "tag:mine", "Values": ["yes"]}]) == {public}
    assert ids(ebs, C, Filters=[{"Name": "tag:mine", "Values": ["yes"]}]) == set()


def test_filters_and_paging(ebs):
    vid = ebs.volume(size=3)
    first = ebs.call("CreateSnapshot", VolumeId=vid, Description="first")["SnapshotId"]
    for _ in range(5):
        ebs.call("CreateSnapshot", VolumeId=ebs.volume())
    f = lambda name, *values: [{"Name": name, "Values": list(values)}]  # noqa: E731
    assert ids(ebs, Filters=f("volume-id", vid)) == {first}
    assert ids(ebs, Filters=f("description", "fir*")) == {first}
    assert ids(ebs, Filters=f("volume-size", "3")) == {first}
    assert len(ids(ebs, Filters=f("status", "completed"))) == 6
    assert len(ids(ebs, Filters=f("progress", "100%"))) == 6
    assert len(ids(ebs, Filters=f("owner-id", A))) == 6
    assert len(ids(ebs, Filters=f("start-time", "20*"))) == 6
    assert ebs.code("DescribeSnapshots", Filters=f("bogus", "1")) == "InvalidParameterValue"
    page = ebs.call("DescribeSnapshots", MaxResults=5)
    rest = ebs.call("DescribeSnapshots", MaxResults=5, NextToken=page["NextToken"])
    assert len(page["Snapshots"]) == 5 and len(rest["Snapshots"]) == 1
    assert ebs.code("DescribeSnapshots", SnapshotIds=[first], MaxResults=5) == \
        "InvalidParameterCombination"


def test_create_volume_permission_attribute(ebs):
    sid = ebs.call("CreateSnapshot", VolumeId=ebs.volume())["SnapshotId"]
    perms = lambda: ebs.call("DescribeSnapshotAttribute", SnapshotId=sid,  # noqa: E731
                             Attribute="createVolumePermission")["CreateVolumePermissions"]
    assert perms() == []
    ebs.call("ModifySnapshotAttribute", SnapshotId=sid, Attribute="createVolumePermission",
             OperationType="add", UserIds=[B, C], GroupNames=["all"])
    assert perms() == [{"Group": "all"}, {"UserId": B}, {"UserId": C}]
    ebs.call("ModifySnapshotAttribute", SnapshotId=sid, CreateVolumePermission={
        "Remove": [{"UserId": C}, {"Group": "all"}]})
    assert perms() == [{"UserId": B}]
    ebs.call("ResetSnapshotAttribute", SnapshotId=sid, Attribute="createVolumePermission")
    assert perms() == []
    assert ids(ebs, B) == set()
    assert ebs.call("DescribeSnapshotAttribute", SnapshotId=sid, Attribute="productCodes")[
        "ProductCodes"] == []
    assert ebs.code("DescribeSnapshotAttribute", SnapshotId=sid, Attribute="size") == \
        "InvalidParameterValue"
    assert ebs.code("ModifySnapshotAttribute", SnapshotId=sid, OperationType="add",
                    UserIds=["12"]) == "InvalidUserID.Malformed"
    assert ebs.code("ModifySnapshotAttribute", SnapshotId=sid, OperationType="add",
                    GroupNames=["friends"]) == "InvalidParameterValue"
    assert ebs.code("ModifySnapshotAttribute", SnapshotId=sid, UserIds=[B]) == \
        "MissingParameter"
    assert ebs.code("ModifySnapshotAttribute", SnapshotId=sid) == "MissingParameter"
    assert ebs.code("ModifySnapshotAttribute", B, SnapshotId=sid, OperationType="add",
                    UserIds=[B]) == "InvalidSnapshot.NotFound"
    assert ebs.code("ResetSnapshotAttribute", SnapshotId=sid, Attribute="productCodes") == \
        "InvalidParameterValue"
