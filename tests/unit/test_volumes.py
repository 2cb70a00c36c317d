"""Volume handlers on an in-process storage controller and cluster: create (sizes, zones,
types, from snapshots, tags), delete, describe (filters, paging), status, attributes, attach
and detach with every refusal, account isolation, and the storage sync."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from sqlalchemy import select

from eucalyptus.clc.storage_sync import StorageSync
from eucalyptus.db.storage import Volume
from eucalyptus.errors import ServerError
from tests.unit.test_volumes_support import A, B, ZONE, ebs  # noqa: F401


def describe(ebs, account=A, **params) -> dict[str, dict]:
    return {v["VolumeId"]: v for v in ebs.call("DescribeVolumes", account, **params)["Volumes"]}


def test_create_describe_delete(ebs):
    out = ebs.call("CreateVolume", AvailabilityZone=ZONE, Size=3, VolumeType="gp2",
                   TagSpecifications=[{"ResourceType": "volume",
                                       "Tags": [{"Key": "Name", "Value": "data"}]}])
    vid = out["VolumeId"]
    assert vid.startswith("vol-") and out["State"] == "available" and out["Size"] == 3
    assert out["VolumeType"] == "gp2" and out["Encrypted"] is False
    assert out["Tags"] == [{"Key": "Name", "Value": "data"}]
    got = describe(ebs)[vid]
    assert got["AvailabilityZone"] == ZONE and got["Attachments"] == [] and got["SnapshotId"] == ""
    assert ebs.storage.volumes[vid].size_gib == 3
    assert ebs.call("DescribeTags", Filters=[{"Name": "resource-type", "Values": ["volume"]}])[
        "Tags"] == [{"Key": "Name", "Value": "data", "ResourceId": vid, "ResourceType": "volume"}]
    ebs.call("DeleteVolume", VolumeId=vid)
    assert describe(ebs) == {} and ebs.storage.volumes[vid].state == "deleted"
    assert ebs.call("DescribeTags")["Tags"] == []
    assert ebs.code("DeleteVolume", VolumeId=vid) == "InvalidVolume.NotFound"


def test_create_refusals(ebs):
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE) == "MissingParameter"
    assert ebs.code("CreateVolume", Size=1) == "MissingParameter"
    assert ebs.code("CreateVolume", AvailabilityZone="nowhere-1a", Size=1) == \
        "InvalidZone.NotFound"
    for size in (0, 1025, -1):
        assert ebs.code("CreateVolume", AvailabilityZone=ZONE, Size=size) == \
            "InvalidParameterValue"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, Size=1, VolumeType="fast") == \
        "InvalidParameterValue"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, Size=1, Iops=300) == \
        "InvalidParameterCombination"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, Size=4, VolumeType="io1") == \
        "MissingParameter"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, Size=1, Encrypted=True) == \
        "InvalidParameterValue"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, SnapshotId="snap-12345678") == \
        "InvalidSnapshot.NotFound"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, SnapshotId="snap-xyz") == \
        "InvalidSnapshotID.Malformed"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, Size=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}]) == \
        "InvalidParameterValue"
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, Size=101) == \
        "InsufficientVolumeCapacity"
    assert describe(ebs) == {}


def test_create_by_zone_id_and_io1(ebs):
    from eucalyptus.services.ec2.zones import zone_id
    vid = ebs.call("CreateVolume", AvailabilityZoneId=zone_id("eucalyptus", ZONE), Size=4,
                   VolumeType="io1", Iops=200)["VolumeId"]
    assert describe(ebs)[vid]["Iops"] == 200
    assert ebs.code("CreateVolume", AvailabilityZoneId="x-az-1", Size=1) == \
        "InvalidZone.NotFound"


def test_volume_from_snapshot_sizes_and_restore(ebs):
    src = ebs.volume(size=2)
    snap = ebs.call("CreateSnapshot", VolumeId=src)["SnapshotId"]
    assert ebs.code("CreateVolume", AvailabilityZone=ZONE, SnapshotId=snap, Size=1) == \
        "InvalidParameterValue"
    ebs.storage.restore_done = False
    out = ebs.call("CreateVolume", AvailabilityZone=ZONE, SnapshotId=snap)
    assert (out["Size"], out["SnapshotId"], out["State"]) == (2, snap, "creating")
    assert ebs.code("DeleteSnapshot", SnapshotId=snap) == "InvalidSnapshot.InUse"
    assert ebs.code("DeleteVolume", VolumeId=out["VolumeId"]) == "IncorrectState"
    ebs.storage.volumes[out["VolumeId"]].state = "available"
    sync(ebs)
    assert describe(ebs)[out["VolumeId"]]["State"] == "available"
    bigger = ebs.call("CreateVolume", AvailabilityZone=ZONE, SnapshotId=snap, Size=5)
    assert bigger["Size"] == 5


def sync(ebs):
    """One storage-sync pass on the test's session's database."""
    session = ebs.session
    session.commit()
    bind = session.get_bind()

    class Component:
        name = "clc"
        settings = SimpleNamespace(zone=ZONE)

        class db:
            @staticmethod
            def session():
                import contextlib
                from sqlalchemy.orm import Session

                @contextlib.contextmanager
                def scope():
                    s = Session(bind, expire_on_commit=False)
                    try:
                        yield s
                        s.commit()
                    finally:
                        s.close()
                return scope()
    asyncio.run(StorageSync(Component()).once())
    session.expire_all()


def test_describe_filters_and_paging(ebs):
    small = ebs.volume(size=1)
    big = ebs.volume(size=8, VolumeType="gp2")
    ebs.call("CreateTags", Resources=[big], Tags=[{"Key": "tier", "Value": "gold"}])
    f = lambda name, *values: [{"Name": name, "Values": list(values)}]  # noqa: E731
    assert set(describe(ebs, Filters=f("size", "8"))) == {big}
    assert set(describe(ebs, Filters=f("volume-type", "standard"))) == {small}
    assert set(describe(ebs, Filters=f("tag:tier", "gold"))) == {big}
    assert set(describe(ebs, Filters=f("status", "available"))) == {small, big}
    assert set(describe(ebs, Filters=f("availability-zone", ZONE))) == {small, big}
    assert set(describe(ebs, Filters=f("create-time", "20*"))) == {small, big}
    assert describe(ebs, Filters=f("attachment.instance-id", "i-*")) == {}
    assert ebs.code("DescribeVolumes", Filters=f("colour", "red")) == "InvalidParameterValue"
    assert set(describe(ebs, VolumeIds=[small])) == {small}
    assert ebs.code("DescribeVolumes", VolumeIds=["vol-00000000"]) == "InvalidVolume.NotFound"
    assert ebs.code("DescribeVolumes", VolumeIds=["volume-1"]) == "InvalidVolumeID.Malformed"
    assert ebs.code("DescribeVolumes", VolumeIds=[small], MaxResults=5) == \
        "InvalidParameterCombination"
    for _ in range(5):
        ebs.volume()
    first = ebs.call("DescribeVolumes", MaxResults=5)
    second = ebs.call("DescribeVolumes", MaxResults=5, NextToken=first["NextToken"])
    assert len(first["Volumes"]) == 5 and len(second["Volumes"]) == 2
    assert "NextToken" not in second


def test_accounts_never_see_each_others_volumes(ebs):
    mine = ebs.volume(A)
    assert describe(ebs, B) == {}
    assert ebs.code("DescribeVolumes", B, VolumeIds=[mine]) == "InvalidVolume.NotFound"
    assert ebs.code("DeleteVolume", B, VolumeId=mine) == "InvalidVolume.NotFound"
    assert ebs.code("CreateTags", B, Resources=[mine], Tags=[{"Key": "k", "Value": "v"}]) == \
        "InvalidVolume.NotFound"
    theirs = ebs.instance("i-0000000b", account=B)
    assert ebs.code("AttachVolume", B, VolumeId=mine, InstanceId=theirs, Device="/dev/sdf") == \
        "InvalidVolume.NotFound"
    assert ebs.code("AttachVolume", VolumeId=mine, InstanceId=theirs, Device="/dev/sdf") == \
        "InvalidInstanceID.NotFound"
    assert ebs.code("CreateSnapshot", B, VolumeId=mine) == "InvalidVolume.NotFound"


def test_status_and_attributes(ebs):
    vid = ebs.volume()
    status = ebs.call("DescribeVolumeStatus")["VolumeStatuses"]
    assert [(s["VolumeId"], s["VolumeStatus"]["Status"]) for s in status] == [(vid, "ok")]
    ebs.session.get(Volume, vid).state = "error"
    ebs.session.flush()
    status = ebs.call("DescribeVolumeStatus", Filters=[
        {"Name": "volume-status.status", "Values": ["impaired"]}])["VolumeStatuses"]
    assert status[0]["VolumeStatus"]["Details"][0] == {"Name": "io-enabled", "Status": "failed"}
    ebs.session.get(Volume, vid).state = "available"
    out = ebs.call("DescribeVolumeAttribute", VolumeId=vid, Attribute="autoEnableIO")
    assert out["AutoEnableIO"] == {"Value": False}
    ebs.call("ModifyVolumeAttribute", VolumeId=vid, AutoEnableIO={"Value": True})
    out = ebs.call("DescribeVolumeAttribute", VolumeId=vid, Attribute="autoEnableIO")
    assert out["AutoEnableIO"] == {"Value": True}
    assert ebs.call("DescribeVolumeAttribute", VolumeId=vid, Attribute="productCodes")[
        "ProductCodes"] == []
    assert ebs.code("DescribeVolumeAttribute", VolumeId=vid, Attribute="size") == \
        "InvalidParameterValue"


def test_attach_detach_round_trip(ebs):
    vid, iid = ebs.volume(), ebs.instance("i-00000001")
    out = ebs.call("AttachVolume", VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    assert (out["State"], out["Device"], out["InstanceId"]) == ("attaching", "/dev/sdf", iid)
    got = describe(ebs)[vid]
    assert got["State"] == "in-use"
    assert got["Attachments"][0]["State"] == "attached"
    assert ebs.storage.volumes[vid].exported_to == iid
    assert ebs.cluster.attached == {(iid, vid): "/dev/sdf"}
    assert set(describe(ebs, Filters=[{"Name": "attachment.instance-id",
                                       "Values": [iid]}])) == {vid}
    assert ebs.code("DeleteVolume", VolumeId=vid) == "VolumeInUse"
    out = ebs.call("DetachVolume", VolumeId=vid)
    assert out["State"] == "detaching"
    assert describe(ebs)[vid]["State"] == "available"
    assert ebs.storage.volumes[vid].exported_to == "" and ebs.cluster.attached == {}
    assert ebs.code("DetachVolume", VolumeId=vid) == "IncorrectState"


def test_attach_refusals(ebs):
    vid, iid = ebs.volume(), ebs.instance("i-00000001")
    other = ebs.instance("i-00000002")
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId=iid) == "MissingParameter"
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId=iid, Device="sdf") == \
        "InvalidParameterValue"
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId="i-0000000f",
                    Device="/dev/sdf") == "InvalidInstanceID.NotFound"
    assert ebs.code("AttachVolume", VolumeId="vol-0000000f", InstanceId=iid,
                    Device="/dev/sdf") == "InvalidVolume.NotFound"
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId=iid, Device="/dev/sda1") == \
        "InvalidParameterValue"
    stopped = ebs.instance("i-00000003", state="pending")
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId=stopped, Device="/dev/sdf") == \
        "IncorrectInstanceState"
    far = ebs.instance("i-00000004", zone="zone-b")
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId=far, Device="/dev/sdf") == \
        "InvalidVolume.ZoneMismatch"
    ebs.call("AttachVolume", VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId=other, Device="/dev/sdg") == \
        "VolumeInUse"
    second = ebs.volume()
    assert ebs.code("AttachVolume", VolumeId=second, InstanceId=iid, Device="/dev/sdf") == \
        "InvalidParameterValue"
    assert ebs.code("DetachVolume", VolumeId=vid, InstanceId=other) == \
        "InvalidAttachment.NotFound"
    assert ebs.code("DetachVolume", VolumeId=vid, Device="/dev/sdz") == \
        "InvalidAttachment.NotFound"
    ebs.session.get(Volume, second).state = "creating"
    assert ebs.code("AttachVolume", VolumeId=second, InstanceId=other, Device="/dev/sdf") == \
        "IncorrectState"


def test_attach_failure_releases_everything(ebs):
    vid, iid = ebs.volume(), ebs.instance("i-00000001")
    ebs.cluster.fail = ServerError("InternalError", "hot-plug refused")
    assert ebs.code("AttachVolume", VolumeId=vid, InstanceId=iid, Device="/dev/sdf") == \
        "InternalError"
    got = describe(ebs)[vid]
    assert got["State"] == "available" and got["Attachments"] == []
    assert ebs.storage.volumes[vid].exported_to == ""


def test_detach_failure_keeps_attachment_unless_forced(ebs):
    from eucalyptus.errors import ClientError
    vid, iid = ebs.volume(), ebs.instance("i-00000001")
    ebs.call("AttachVolume", VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    ebs.cluster.fail = ClientError("VolumeInUse", "the guest holds it")
    assert ebs.code("DetachVolume", VolumeId=vid) == "VolumeInUse"
    assert describe(ebs)[vid]["Attachments"][0]["State"] == "attached"
    ebs.cluster.fail = ClientError("VolumeInUse", "the guest holds it")
    ebs.call("DetachVolume", VolumeId=vid, InstanceId=iid, Device="/dev/sdf", Force=True)
    assert describe(ebs)[vid]["State"] == "available"
    assert ebs.storage.volumes[vid].exported_to == ""


def test_terminated_instance_releases_and_deletes_on_termination(ebs):
    keep, drop = ebs.volume(), ebs.volume()
    iid = ebs.instance("i-00000001")
    for vid, dev in ((keep, "/dev/sdf"), (drop, "/dev/sdg")):
        ebs.call("AttachVolume", VolumeId=vid, InstanceId=iid, Device=dev)
    ebs.session.get(Volume, drop).delete_on_termination = True
    sync(ebs)
    assert {v["State"] for v in describe(ebs).values()} == {"in-use"}
    from eucalyptus.db.compute import Instance
    ebs.session.get(Instance, iid).state = "terminated"
    sync(ebs)
    got = describe(ebs)
    assert set(got) == {keep} and got[keep]["State"] == "available"
    assert ebs.storage.volumes[drop].state == "deleted"
    assert ebs.storage.volumes[keep].exported_to == ""


def test_sync_asks_nothing_when_idle(ebs):
    ebs.volume()
    ebs.storage.calls.clear()
    sync(ebs)
    assert ebs.storage.calls == []
    assert ebs.session.scalars(select(Volume)).one().state == "available"
