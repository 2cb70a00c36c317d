"""The euca-* volume and snapshot commands against the EBS test cloud (fake-hypervisor node,
real storage controller), run in-process with a user's eucarc environment."""
from __future__ import annotations

import pytest

from eucalyptus.cli import snapshots as snap_cli
from eucalyptus.cli import volumes as vol_cli
from tests.api.cli_runner import CommandRunner
from tests.api.test_snapshots import completed
from tests.api.test_volumes import ebs_cloud, launch, wait_for, zone_of  # noqa: F401

pytestmark = pytest.mark.parametrize("ebs_cloud", ["sqlite"], indirect=True)


@pytest.fixture
def cli(ebs_cloud, monkeypatch, tmp_path):
    runner = CommandRunner(ebs_cloud, monkeypatch, tmp_path)
    yield runner
    runner.close()


def fields(line: str) -> list[str]:
    return line.split("\t")


def test_volume_commands(cli, ebs_cloud):
    zone = zone_of(ebs_cloud)
    made = fields(cli(vol_cli.create_volume, "-s", "1", "-z", zone, "--tag", "Name=cli").ok()[0])
    assert made[0] == "VOLUME" and made[1].startswith("vol-") and made[2:6] == [
        "1", "", zone, "available"]
    vid = made[1]
    lines = cli(vol_cli.describe_volumes, vid).ok()
    assert fields(lines[0])[:6] == ["VOLUME", vid, "1", "", zone, "available"]
    assert fields(lines[0])[7] == "standard"
    assert lines[1] == f"TAG\tvolume\t{vid}\tName\tcli"
    assert cli(vol_cli.describe_volumes, "-F", "tag:Name=nothing").ok() == []
    iid = launch(ebs_cloud)
    try:
        att = fields(cli(vol_cli.attach_volume, vid, "-i", iid, "-d", "/dev/sdf").ok()[0])
        assert att[:5] == ["ATTACHMENT", vid, iid, "/dev/sdf", "attaching"]
        lines = cli(vol_cli.describe_volumes, vid).ok()
        assert fields(lines[0])[5] == "in-use"
        assert fields(lines[1])[:5] == ["ATTACHMENT", vid, iid, "/dev/sdf", "attached"]
        ran = cli(vol_cli.delete_volume, vid)
        assert ran.status == 1 and "(VolumeInUse)" in ran.err
        det = fields(cli(vol_cli.detach_volume, vid, "-i", iid, "-f").ok()[0])
        assert det[:5] == ["ATTACHMENT", vid, iid, "/dev/sdf", "detaching"]
    finally:
        ebs_cloud.client("ec2").terminate_instances(InstanceIds=[iid])
    assert cli(vol_cli.delete_volume, vid).ok() == [f"VOLUME\t{vid}"]
    ran = cli(vol_cli.create_volume, "-z", zone)
    assert ran.status == 1 and "--size" in ran.err
    ran = cli(vol_cli.create_volume, "-s", "1", "-z", "nowhere-9z")
    assert ran.status == 1 and "(InvalidZone.NotFound)" in ran.err


def test_snapshot_commands(cli, ebs_cloud):
    zone = zone_of(ebs_cloud)
    ec2 = ebs_cloud.client("ec2")
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    made = fields(cli(snap_cli.create_snapshot, vid, "-d", "from the cli").ok()[0])
    assert made[0] == "SNAPSHOT" and made[2] == vid and made[-1] == "from the cli"
    sid = made[1]
    completed(ec2, sid)
    shown = fields(cli(snap_cli.describe_snapshots, sid).ok()[0])
    account = ebs_cloud.env["EC2_ACCOUNT_NUMBER"]
    assert shown[:4] == ["SNAPSHOT", sid, vid, "completed"]
    assert shown[5:8] == ["100%", account, "1"]
    own = [fields(line)[1] for line in cli(snap_cli.describe_snapshots, "-o", "self").ok()]
    assert sid in own         # with the account's other snapshots, whatever their order
    assert cli(snap_cli.describe_snapshots, "-F", f"volume-id={vid}", "-F",
               "status=pending").ok() == []
    other = cli.new_account()
    assert cli(snap_cli.modify_snapshot_attribute, sid, "-c", "-a", other.account_id).ok() == [
        f"createVolumePermission\t{sid}\tADD\tuserId\t{other.account_id}"]
    assert cli(snap_cli.describe_snapshot_attribute, sid, "-c").ok() == [
        f"createVolumePermission\t{sid}\tuserId\t{other.account_id}"]
    cli(snap_cli.modify_snapshot_attribute, sid, "-c", "-a", "all").ok()
    cli(snap_cli.modify_snapshot_attribute, sid, "-c", "-r", other.account_id).ok()
    assert cli(snap_cli.describe_snapshot_attribute, sid).ok() == [
        f"createVolumePermission\t{sid}\tgroup\tall"]
    cli(snap_cli.reset_snapshot_attribute, sid, "-c").ok()
    assert cli(snap_cli.describe_snapshot_attribute, sid).ok() == []
    ran = cli(snap_cli.modify_snapshot_attribute, sid, "-a", "all")
    assert ran.status == 1 and "-c" in ran.err
    restored = fields(cli(vol_cli.create_volume, "--snapshot", sid, "-z", zone).ok()[0])
    assert restored[3] == sid
    wait_for(lambda: ec2.describe_volumes(VolumeIds=[restored[1]])["Volumes"][0]["State"]
             == "available", 120, "the restored volume")
    cli(vol_cli.delete_volume, restored[1]).ok()
    assert cli(snap_cli.delete_snapshot, sid).ok() == [f"SNAPSHOT\t{sid}"]
    ran = cli(snap_cli.delete_snapshot, sid)
    assert ran.status == 1 and "(InvalidSnapshot.NotFound)" in ran.err
    ec2.delete_volume(VolumeId=vid)
