"""The EC2 instance API end to end on a cloud whose node boots nothing (tests.fakes FakeDriver):
launch through the CLC, the CC's scheduler and network, the NC's image fetch from Walrus and
its state machine; describe, filters, paging, tags, attributes, console, reboot, terminate,
capacity, idempotency, errors, a tampered bundle part."""
from __future__ import annotations

import base64
import os
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from eucalyptus.images import bundle, certificates
from eucalyptus.images.transfer import Location, upload_bundle
from tests.cloud_fixture import Cloud

FAKE_NODE = {"EUCA_NC_DRIVER": "tests.fakes.hypervisor:FakeDriver",
             "EUCA_NC_POLLING_FREQUENCY": "1", "EUCA_STARTER_IMAGE": "no",
             "EUCA_MAX_CORES": "2", "EUCA_MAX_MEM": "4096", "EUCA_MAX_DISK": "100"}


SIGNER = certificates.self_signed("instances test", bits=1024)


def register_bundles(cloud, work: Path, bucket: str, tamper: bool = False) -> dict[str, str]:
    """A small kernel, ramdisk and machine image bundled, uploaded and registered."""
    s3, ec2 = cloud.client("s3"), cloud.client("ec2")
    user_key, user_cert = SIGNER
    try:      # RegisterImage trusts manifests signed by the account's signing certificates
        cloud.client("iam").upload_signing_certificate(
            CertificateBody=certificates.cert_pem(user_cert).decode())
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "DuplicateCertificate":
            raise
    cloud_cert = certificates.load_certificate(
        (cloud.data_dir / "keys" / "cloud-cert.pem").read_bytes())
    ids: dict[str, str] = {}
    for kind in ("kernel", "ramdisk", "machine"):
        image = work / f"{bucket}-{kind}.img"
        image.write_bytes(os.urandom(2048) + kind.encode() * 1000)
        made = bundle.make_bundle(bundle.BundleRequest(
            image=image, destination=work / f"{bucket}-{kind}", cloud_cert=cloud_cert,
            user_cert=user_cert, user_key=user_key, image_type=kind,
            kernel_id=ids.get("kernel") if kind == "machine" else None,
            ramdisk_id=ids.get("ramdisk") if kind == "machine" else None))
        location = upload_bundle(s3, made.manifest_path, Location.parse(bucket))
        if tamper and kind == "kernel":
            part = made.part_paths[0]
            data = bytearray(part.read_bytes())
            data[len(data) // 2] ^= 0xFF
            s3.put_object(Bucket=bucket, Key=part.name, Body=bytes(data))
        ids[kind] = ec2.register_image(Name=f"{bucket}-{kind}",
                                       ImageLocation=location)["ImageId"]
    return ids


def start_compute(tmp_path_factory, name: str, bucket: str,
                  env: dict[str, str] | None = None) -> Cloud:
    """A cloud whose node boots nothing (FAKE_NODE plus ``env``) in a new temporary directory
    ``name`` (``.work``), with the test bundles registered from ``bucket`` (``.images``)."""
    work = tmp_path_factory.mktemp(name)
    cloud = Cloud.start(work / "data", {**FAKE_NODE, **(env or {})})
    try:
        cloud.images = register_bundles(cloud, work, bucket)
    except BaseException:
        cloud.stop()
        raise
    cloud.work = work
    return cloud


@pytest.fixture(scope="module")
def compute(tmp_path_factory):
    cloud = start_compute(tmp_path_factory, "compute", "inst-images")
    yield cloud
    cloud.stop()


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def instances_of(ec2, ids: list[str]) -> dict[str, dict]:
    out = ec2.describe_instances(InstanceIds=ids)
    return {i["InstanceId"]: i for r in out["Reservations"] for i in r["Instances"]}


def wait_states(ec2, ids: list[str], state: str, timeout: float = 30) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = instances_of(ec2, ids)
        if all(found[i]["State"]["Name"] == state for i in ids):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not all {state}: {[(i, found[i]['State']) for i in ids]}")
        time.sleep(0.3)


def test_launch_describe_reboot_console_terminate(compute):
    ec2 = compute.client("ec2")
    key = f"k-{uuid.uuid4().hex[:6]}"
    ec2.create_key_pair(KeyName=key, KeyType="ed25519")
    token = uuid.uuid4().hex
    user_data = "#!/bin/sh\necho hello\n"
    res = ec2.run_instances(ImageId=compute.images["machine"], MinCount=2, MaxCount=2,
                            InstanceType="t1.micro", KeyName=key, UserData=user_data,
                            ClientToken=token, Placement={"AvailabilityZone": "eucalyptus-1a"},
                            SecurityGroups=["default"], TagSpecifications=[
                                {"ResourceType": "instance",
                                 "Tags": [{"Key": "Name", "Value": "pair"}]}])
    ids = [i["InstanceId"] for i in res["Instances"]]
    assert [i["State"] for i in res["Instances"]] == [{"Code": 0, "Name": "pending"}] * 2
    first = res["Instances"][0]
    assert first["KernelId"] == compute.images["kernel"]
    assert first["RamdiskId"] == compute.images["ramdisk"]
    assert first["PrivateIpAddress"] and first["PrivateDnsName"]
    assert res["Groups"][0]["GroupName"] == "default"
    again = ec2.run_instances(ImageId=compute.images["machine"], MinCount=2, MaxCount=2,
                              ClientToken=token)
    assert again["ReservationId"] == res["ReservationId"]
    assert [i["InstanceId"] for i in again["Instances"]] == ids

    running = wait_states(ec2, ids, "running")
    assert {i["AmiLaunchIndex"] for i in running.values()} == {0, 1}
    assert running[ids[0]]["Tags"] == [{"Key": "Name", "Value": "pair"}]
    assert running[ids[0]]["KeyName"] == key
    for name, values, expect in (
            ("instance-state-name", ["running"], set(ids)),
            ("tag:Name", ["pair"], set(ids)), ("key-name", [key], set(ids)),
            ("reservation-id", [res["ReservationId"]], set(ids)),
            ("private-ip-address", [first["PrivateIpAddress"]], {ids[0]}),
            ("instance-state-code", ["16"], set(ids)), ("client-token", [token], set(ids)),
            ("instance-type", ["m1.large"], set())):
        got = ec2.describe_instances(Filters=[{"Name": name, "Values": values},
                                              {"Name": "key-name", "Values": [key]}])
        assert {i["InstanceId"] for r in got["Reservations"] for i in r["Instances"]} == \
            expect, name
    assert code_of(ec2.describe_instances, Filters=[{"Name": "nope", "Values": ["x"]}]) == \
        "InvalidParameterValue"

    attr = ec2.describe_instance_attribute(InstanceId=ids[0], Attribute="userData")
    assert base64.b64decode(attr["UserData"]["Value"]).decode() == user_data
    status = ec2.describe_instance_status(InstanceIds=ids)["InstanceStatuses"]
    assert {s["InstanceStatus"]["Status"] for s in status} == {"ok"}

    out = ec2.get_console_output(InstanceId=ids[0])
    assert f"fake guest {ids[0]} booted" in out["Output"]
    ec2.reboot_instances(InstanceIds=[ids[0]])
    assert "rebooted" in ec2.get_console_output(InstanceId=ids[0])["Output"]

    assert code_of(ec2.stop_instances, InstanceIds=[ids[0]]) == "IncorrectInstanceState"
    assert code_of(ec2.start_instances, InstanceIds=[ids[0]]) == "IncorrectInstanceState"

    gone = ec2.terminate_instances(InstanceIds=ids)["TerminatingInstances"]
    assert {g["PreviousState"]["Name"] for g in gone} == {"running"}
    done = wait_states(ec2, ids, "terminated")
    assert done[ids[0]]["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    instance_dir = compute.data_dir / "instances" / ids[0]
    assert not instance_dir.exists()


def test_paging_and_aws_cli(compute):
    ec2 = compute.client("ec2")
    res = []
    for _round in range(3):      # two cores: two single-instance reservations at a time
        batch = [ec2.run_instances(ImageId=compute.images["machine"], MinCount=1, MaxCount=1,
                                   InstanceType="t1.micro") for _ in range(2)]
        res += batch
        ids = [r["Instances"][0]["InstanceId"] for r in batch]
        done = compute.aws("ec2", "describe-instances", "--instance-ids", ids[0], "--query",
                           "Reservations[].Instances[].InstanceId", "--output", "text")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [ids[0]]
        ec2.terminate_instances(InstanceIds=ids)
        wait_states(ec2, ids, "terminated")
    wanted = [r["Instances"][0]["InstanceId"] for r in res]
    seen, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        page = ec2.describe_instances(MaxResults=5, Filters=[
            {"Name": "instance-id", "Values": wanted}], **kw)
        pages += 1
        seen += [r["ReservationId"] for r in page["Reservations"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2
    assert sorted(seen) == sorted(r["ReservationId"] for r in res)
    assert code_of(ec2.describe_instances, MaxResults=3) == "InvalidParameterValue"


def test_errors_before_anything_starts(compute):
    ec2 = compute.client("ec2")
    emi = compute.images["machine"]
    before = len(ec2.describe_instances()["Reservations"])
    for kwargs, code in (
            ({"ImageId": "emi-nothex!"}, "InvalidAMIID.Malformed"),
            ({"ImageId": "emi-00000000"}, "InvalidAMIID.NotFound"),
            ({"ImageId": emi, "KeyName": "no-such-key"}, "InvalidKeyPair.NotFound"),
            ({"ImageId": emi, "InstanceType": "x9.huge"}, "InvalidParameterValue"),
            ({"ImageId": emi, "Placement": {"AvailabilityZone": "mars-1a"}},
             "InvalidParameterValue"),
            ({"ImageId": emi, "SecurityGroups": ["nope"]}, "InvalidGroup.NotFound"),
            ({"ImageId": compute.images["kernel"]}, "InvalidParameterValue"),
            ({"ImageId": emi, "UserData": "@@@"}, "InvalidParameterValue")):
        kwargs.setdefault("MinCount", 1)
        kwargs.setdefault("MaxCount", 1)
        if kwargs.get("UserData") == "@@@":     # boto3 would base64 it; send it raw
            ec2.meta.events.register_last("before-parameter-build.ec2.RunInstances",
                                           _raw_user_data)
        try:
            assert code_of(ec2.run_instances, **kwargs) == code, kwargs
        finally:
            ec2.meta.events.unregister("before-parameter-build.ec2.RunInstances",
                                       _raw_user_data)
    assert code_of(ec2.run_instances, ImageId=emi, MinCount=3, MaxCount=2) == \
        "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        ec2.run_instances(ImageId=emi, MinCount=1, MaxCount=1, InstanceType="t2.nano_x")
    assert "Invalid value 't2.nano_x' for InstanceType" in str(info.value)
    assert code_of(ec2.describe_instances, InstanceIds=["i-00000000"]) == \
        "InvalidInstanceID.NotFound"
    assert code_of(ec2.terminate_instances, InstanceIds=["i-zz"]) == "InvalidInstanceID.Malformed"
    assert len(ec2.describe_instances()["Reservations"]) == before


def _raw_user_data(params, **_):
    params["UserData"] = "@@@"


def test_capacity_is_all_or_nothing_and_shown_by_zones(compute):
    ec2 = compute.client("ec2")
    emi = compute.images["machine"]
    cores = compute.client("ec2").describe_availability_zones(ZoneNames=["verbose"])
    total = int(next(z["State"] for z in cores["AvailabilityZones"]
                     if z["ZoneName"] == "|- t1.micro").split("/")[1].split()[0])
    assert code_of(ec2.run_instances, ImageId=emi, MinCount=total + 1, MaxCount=total + 1,
                   InstanceType="t1.micro") == "InsufficientInstanceCapacity"
    res = ec2.run_instances(ImageId=emi, MinCount=1, MaxCount=9, InstanceType="t1.micro")
    ids = [i["InstanceId"] for i in res["Instances"]]
    try:
        assert len(ids) == total
        wait_states(ec2, ids, "running")
        assert code_of(ec2.run_instances, ImageId=emi, MinCount=1, MaxCount=1,
                       InstanceType="t1.micro") == "InsufficientInstanceCapacity"
        zones = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
        line = next(z["State"] for z in zones if z["ZoneName"] == "|- t1.micro")
        assert line.startswith(f"0000 / {total:04d}")
    finally:
        ec2.terminate_instances(InstanceIds=ids)
    wait_states(ec2, ids, "terminated")
    deadline = time.monotonic() + 20
    while True:       # the node reports its cores free again
        zones = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
        if next(z["State"] for z in zones if z["ZoneName"] == "|- t1.micro").startswith(
                f"{total:04d} / {total:04d}") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert next(z["State"] for z in zones if z["ZoneName"] == "|- t1.micro").startswith(f"{total:04d}")


def test_attributes_and_termination_protection(compute):
    ec2 = compute.client("ec2")
    res = ec2.run_instances(ImageId=compute.images["machine"], MinCount=1, MaxCount=1,
                            InstanceType="t1.micro", DisableApiTermination=True)
    iid = res["Instances"][0]["InstanceId"]
    got = ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")
    assert got["DisableApiTermination"]["Value"] is True
    assert code_of(ec2.terminate_instances, InstanceIds=[iid]) == "OperationNotPermitted"
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")[
        "InstanceType"]["Value"] == "t1.micro"
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="kernel")[
        "KernelId"]["Value"] == compute.images["kernel"]
    assert code_of(ec2.modify_instance_attribute, InstanceId=iid,
                   InstanceType={"Value": "m1.large"}) == "IncorrectInstanceState"
    assert code_of(ec2.reset_instance_attribute, InstanceId=iid, Attribute="kernel") == \
        "IncorrectInstanceState"
    assert code_of(ec2.describe_instance_attribute, InstanceId=iid, Attribute="bogus") == \
        "InvalidParameterValue"
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
    ec2.reset_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")
    ec2.terminate_instances(InstanceIds=[iid])
    wait_states(ec2, [iid], "terminated")


def test_tags_on_instances_images_and_key_pairs(compute):
    ec2 = compute.client("ec2")
    key = f"t-{uuid.uuid4().hex[:6]}"
    ec2.create_key_pair(KeyName=key)
    key_id = ec2.describe_key_pairs(KeyNames=[key])["KeyPairs"][0]["KeyPairId"]
    res = ec2.run_instances(ImageId=compute.images["machine"], MinCount=1, MaxCount=1,
                            InstanceType="t1.micro")
    iid = res["Instances"][0]["InstanceId"]
    emi = compute.images["machine"]
    try:
        ec2.create_tags(Resources=[iid, emi, key_id],
                        Tags=[{"Key": "team", "Value": "blue"}, {"Key": "empty"}])
        tags = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["team"]}])["Tags"]
        assert {(t["ResourceId"], t["ResourceType"]) for t in tags} >= {
            (iid, "instance"), (emi, "image"), (key_id, "key-pair")}
        only = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["instance"]},
                                          {"Name": "resource-id", "Values": [iid]}])["Tags"]
        assert {(t["Key"], t["Value"]) for t in only} == {("team", "blue"), ("empty", "")}
        image = ec2.describe_images(ImageIds=[emi])["Images"][0]
        assert {"Key": "team", "Value": "blue"} in image["Tags"]
        ec2.delete_tags(Resources=[iid], Tags=[{"Key": "team", "Value": "red"}])  # no match
        assert len(ec2.describe_tags(Filters=[{"Name": "resource-id",
                                               "Values": [iid]}])["Tags"]) == 2
        ec2.delete_tags(Resources=[iid], Tags=[{"Key": "team"}])
        assert [t["Key"] for t in ec2.describe_tags(Filters=[
            {"Name": "resource-id", "Values": [iid]}])["Tags"]] == ["empty"]
        ec2.delete_tags(Resources=[emi, key_id])
        assert code_of(ec2.create_tags, Resources=["i-00000000"],
                       Tags=[{"Key": "a", "Value": "b"}]) == "InvalidInstanceID.NotFound"
        assert code_of(ec2.create_tags, Resources=["bogus-1"],
                       Tags=[{"Key": "a", "Value": "b"}]) == "InvalidID"
        assert code_of(ec2.create_tags, Resources=[iid],
                       Tags=[{"Key": "aws:x", "Value": "b"}]) == "InvalidParameterValue"
        many = [{"Key": f"k{n}", "Value": "v"} for n in range(50)]
        assert code_of(ec2.create_tags, Resources=[iid], Tags=many) == "TagLimitExceeded"
    finally:
        ec2.terminate_instances(InstanceIds=[iid])


def test_a_tampered_bundle_part_fails_the_launch(compute):
    ec2 = compute.client("ec2")
    bad = register_bundles(compute, compute.work, f"tamper-{uuid.uuid4().hex[:6]}",
                           tamper=True)
    res = ec2.run_instances(ImageId=bad["machine"], MinCount=1, MaxCount=1,
                            InstanceType="t1.micro")
    iid = res["Instances"][0]["InstanceId"]
    done = wait_states(ec2, [iid], "terminated")[iid]
    assert done["StateReason"]["Code"] == "Server.InternalError"
    assert "digest" in done["StateReason"]["Message"]
    assert bad["kernel"] in done["StateReason"]["Message"]


def euca(cloud, module: str, command: str, *argv: str) -> list[list[str]]:
    """Run a euca- command (by its entry point) with the cloud's eucarc environment."""
    import subprocess
    import sys
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cloud.home), **cloud.env,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", f"import sys; from eucalyptus.cli.{module} "
                           f"import {command}; sys.exit({command}(sys.argv[1:]))", *argv],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def test_euca_commands(compute):
    ec2 = compute.client("ec2")
    emi = compute.images["machine"]
    out = euca(compute, "instances", "run_instances", emi, "-n", "1", "-t", "t1.micro")
    assert out[0][0] == "RESERVATION" and out[0][3] == "default"
    iid = out[1][1]
    assert out[1][:3] == ["INSTANCE", iid, emi] and out[1][5] == "pending"
    wait_states(ec2, [iid], "running")
    euca(compute, "tags", "create_tags", iid, "--tag", "role=web")
    listed = euca(compute, "instances", "describe_instances", iid)
    assert listed[1][5] == "running" and ["TAG", "instance", iid, "role", "web"] in listed
    assert ["TAG", "instance", iid, "role", "web"] in euca(
        compute, "tags", "describe_tags", "-F", f"resource-id={iid}")
    euca(compute, "tags", "delete_tags", iid, "--tag", "role")
    assert euca(compute, "tags", "describe_tags", "-F", f"resource-id={iid}") == []
    status = euca(compute, "instances", "describe_instance_status", iid)
    assert status[0][:4] == ["INSTANCE", iid, "eucalyptus-1a", "running"]
    euca(compute, "instances", "reboot_instances", iid)
    console = euca(compute, "instances", "get_console_output", iid)
    assert console[0] == [iid] and any("rebooted" in line[0] for line in console)
    gone = euca(compute, "instances", "terminate_instances", iid)
    assert gone[0][:3] == ["INSTANCE", iid, "running"]
