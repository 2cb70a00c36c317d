"""Public addresses on a live cloud whose node boots nothing (tests.fakes FakeDriver): the
automatic address of a launched instance (DescribeInstances, the admin's verbose view, the
cluster's copy) and its return at terminate, an elastic address moving between two
instances, the refusals (AWS codes), other accounts, the pool running out, launching into
security groups (InvalidGroup.NotFound, DependencyViolation while an instance uses a group),
and the AWS CLI."""
from __future__ import annotations

import json

import pytest

from tests import polling
from tests.api.test_instances import code_of, start_compute, wait_states
from tests.api.test_security_groups import new_account

POOL = [f"10.88.0.{n}" for n in range(50, 56)]


@pytest.fixture(scope="module")
def compute(tmp_path_factory):
    cloud = start_compute(tmp_path_factory, "addresses", "addr-images",
                          {"EUCA_VNET_PUBLICIPS": f"{POOL[0]}-{POOL[-1]}"})
    yield cloud
    cloud.stop()


def launch(cloud, count: int = 1, **kw) -> list[str]:
    ec2 = cloud.client("ec2")
    res = ec2.run_instances(ImageId=cloud.images["machine"], MinCount=count, MaxCount=count,
                            InstanceType="t1.micro", **kw)
    ids = [i["InstanceId"] for i in res["Instances"]]
    wait_states(ec2, ids, "running")
    return ids


def terminate(cloud, ids: list[str]) -> None:
    ec2 = cloud.client("ec2")
    ec2.terminate_instances(InstanceIds=ids)
    wait_states(ec2, ids, "terminated")


def public_of(cloud, iid: str) -> str | None:
    out = cloud.client("ec2").describe_instances(InstanceIds=[iid])
    return out["Reservations"][0]["Instances"][0].get("PublicIpAddress")


def verbose(cloud) -> dict[str, str]:
    listed = cloud.client("ec2").describe_addresses(PublicIps=["verbose"])["Addresses"]
    return {a["PublicIp"]: a["InstanceId"] for a in listed}


def cc_assignments(cloud) -> dict[str, str]:
    path = cloud.data_dir / "cc" / "vnet" / "policy.json"
    return json.loads(path.read_text()).get("assignments", {}) if path.exists() else {}


def wait_for(check, what: str, timeout: float = 10.0):
    return polling.wait_for(check, timeout, what, interval=0.1)


def test_automatic_address_follows_the_instance(compute):
    ec2 = compute.client("ec2")
    res = ec2.run_instances(ImageId=compute.images["machine"], MinCount=1, MaxCount=1,
                            InstanceType="t1.micro")
    (inst,) = res["Instances"]
    iid, ip = inst["InstanceId"], inst["PublicIpAddress"]
    assert ip in POOL and inst["PublicDnsName"] == "euca-" + ip.replace(".", "-")
    wait_states(ec2, [iid], "running")
    found = ec2.describe_instances(Filters=[{"Name": "ip-address", "Values": [ip]}])
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [iid]
    assert ip not in {a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]}
    assert verbose(compute)[ip] == f"{iid} (eucalyptus)"
    wait_for(lambda: cc_assignments(compute).get(ip) == iid, "the cluster's NAT entry")
    terminate(compute, [iid])
    wait_for(lambda: verbose(compute)[ip] == "available", "the address back in the pool")
    wait_for(lambda: ip not in cc_assignments(compute), "the cluster dropping it")


def test_elastic_address_moves_between_instances(compute):
    ec2 = compute.client("ec2")
    one, two = launch(compute, 2)
    autos = {public_of(compute, one), public_of(compute, two)}
    got = ec2.allocate_address(Domain="standard")
    ip, alloc = got["PublicIp"], got["AllocationId"]
    assert alloc.startswith("eipalloc-") and ip in POOL and ip not in autos
    first = ec2.associate_address(InstanceId=one, PublicIp=ip)["AssociationId"]
    assert first.startswith("eipassoc-") and public_of(compute, one) == ip
    wait_for(lambda: cc_assignments(compute).get(ip) == one, "the address on one")
    assert code_of(ec2.associate_address, InstanceId=two, AllocationId=alloc) == \
        "Resource.AlreadyAssociated"
    ec2.associate_address(InstanceId=two, PublicIp=ip)               # classic: it moves
    assert public_of(compute, two) == ip
    assert public_of(compute, one) not in (None, ip)                 # one got a new one
    wait_for(lambda: cc_assignments(compute).get(ip) == two, "the address moved to two")
    (item,) = [a for a in ec2.describe_addresses()["Addresses"] if a["PublicIp"] == ip]
    assert item["InstanceId"] == two and item["AllocationId"] == alloc
    ec2.associate_address(InstanceId=one, AllocationId=alloc, AllowReassociation=True)
    assert public_of(compute, one) == ip
    ec2.disassociate_address(PublicIp=ip)
    assert public_of(compute, one) not in (None, ip)                 # a new automatic one
    wait_for(lambda: cc_assignments(compute).get(ip) == "", "the address unmapped")
    ec2.release_address(AllocationId=alloc)
    assert code_of(ec2.describe_addresses, PublicIps=[ip]) == "InvalidAddress.NotFound"
    terminate(compute, [one, two])


def test_refusals_other_accounts_and_the_pool_running_out(compute):
    ec2 = compute.client("ec2")
    _b_id, b, _key = new_account(compute)
    mine = ec2.allocate_address()
    theirs = b.allocate_address()
    assert b.describe_addresses()["Addresses"][0]["PublicIp"] == theirs["PublicIp"]
    assert code_of(b.release_address, PublicIp=mine["PublicIp"]) == "AuthFailure"
    assert code_of(b.release_address, AllocationId=mine["AllocationId"]) == \
        "InvalidAllocationID.NotFound"
    assert code_of(b.describe_addresses, AllocationIds=[mine["AllocationId"]]) == \
        "InvalidAllocationID.NotFound"
    assert code_of(ec2.associate_address, InstanceId="i-00000000",
                   PublicIp=mine["PublicIp"]) == "InvalidInstanceID.NotFound"
    assert code_of(ec2.disassociate_address, AssociationId="eipassoc-00000000") == \
        "InvalidAssociationID.NotFound"
    taken = [ec2.allocate_address() for _ in range(len(verbose_free(compute)))]
    assert code_of(ec2.allocate_address) == "AddressLimitExceeded"
    for got in [*taken, mine]:
        ec2.release_address(PublicIp=got["PublicIp"])
    b.release_address(AllocationId=theirs["AllocationId"])
    assert set(verbose_free(compute)) == set(POOL)


def verbose_free(cloud) -> list[str]:
    return [ip for ip, holder in verbose(cloud).items() if holder == "available"]


def test_launch_into_groups(compute):
    ec2 = compute.client("ec2")
    assert code_of(ec2.run_instances, ImageId=compute.images["machine"], MinCount=1,
                   MaxCount=1, SecurityGroups=["no-such-group"]) == "InvalidGroup.NotFound"
    gid = ec2.create_security_group(GroupName="launch-g", Description="d")["GroupId"]
    res = ec2.run_instances(ImageId=compute.images["machine"], MinCount=1, MaxCount=1,
                            InstanceType="t1.micro", SecurityGroupIds=[gid])
    assert res["Groups"] == [{"GroupId": gid, "GroupName": "launch-g"}]
    iid = res["Instances"][0]["InstanceId"]
    wait_states(ec2, [iid], "running")
    assert code_of(ec2.delete_security_group, GroupId=gid) == "DependencyViolation"
    terminate(compute, [iid])
    ec2.delete_security_group(GroupId=gid)


def test_aws_cli(compute):
    def aws(*args):
        done = compute.aws("ec2", *args, "--output", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}
    (iid,) = launch(compute)
    got = aws("allocate-address", "--domain", "vpc")
    assert got["Domain"] == "vpc" and got["PublicIp"] in POOL
    assoc = aws("associate-address", "--instance-id", iid, "--allocation-id",
                got["AllocationId"])
    assert assoc["AssociationId"].startswith("eipassoc-")
    (listed,) = aws("describe-addresses", "--allocation-ids", got["AllocationId"])["Addresses"]
    assert listed["InstanceId"] == iid and listed["AssociationId"] == assoc["AssociationId"]
    held = compute.aws("ec2", "release-address", "--allocation-id", got["AllocationId"])
    assert "InvalidIPAddress.InUse" in held.stderr
    aws("disassociate-address", "--association-id", assoc["AssociationId"])
    aws("release-address", "--allocation-id", got["AllocationId"])
    terminate(compute, [iid])
