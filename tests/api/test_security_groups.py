"""Security groups on a live cloud with boto3 and the AWS CLI: create/describe/delete,
authorize/revoke (IpPermissions, legacy flat parameters, another account's group as source),
DescribeSecurityGroupRules, tags, every refusal's AWS code, isolation between accounts, and
each change reaching the cluster controller (its persisted policy state)."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from eucalyptus.cli.accounts import ACCOUNT_ADMIN, delegate_to


NAMES = {"6": "tcp", "17": "udp", "1": "icmp"}      # the cluster may keep protocol numbers


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def new_account(cloud) -> tuple[str, object, dict]:
    """(account id, ec2 client of its admin, the key) for a fresh account."""
    iam = cloud.client("iam")
    name = f"sg{uuid.uuid4().hex[:8]}"
    account_id = iam.create_account(AccountName=name)["Account"]["AccountId"]
    delegate_to(iam, "CreateAccessKey", name)
    key = iam.create_access_key(UserName=ACCOUNT_ADMIN)["AccessKey"]
    ec2 = cloud.client("ec2", aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"])
    return account_id, ec2, key


def cc_state(cloud) -> dict:
    path = cloud.data_dir / "cc" / "vnet" / "policy.json"
    return json.loads(path.read_text()) if path.exists() else {}


def wait_cc(cloud, check, timeout: float = 5.0) -> dict:
    """The CC's persisted policy once ``check(state)`` holds (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        state = cc_state(cloud)
        if check(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the cluster never got it: {state.get('groups')}")
        time.sleep(0.05)


def cc_group(state: dict, group_id: str) -> dict | None:
    return next((g for g in state.get("groups", []) if g["group_id"] == group_id), None)


def test_lifecycle_rules_and_the_cluster_copy(cloud):
    account_id, ec2, _key = new_account(cloud)
    (default,) = ec2.describe_security_groups()["SecurityGroups"]
    assert default["GroupName"] == "default" and default["OwnerId"] == account_id
    assert default["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    gid = ec2.create_security_group(GroupName="web", Description="web tier")["GroupId"]
    assert ec2.describe_security_groups(GroupNames=["web"])["SecurityGroups"][0]["GroupId"] \
        == gid
    made = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
         "UserIdGroupPairs": [{"GroupId": default["GroupId"]}]}])
    assert made["Return"] is True and len(made["SecurityGroupRules"]) == 2
    state = wait_cc(cloud, lambda s: (g := cc_group(s, gid)) is not None and g["ingress"])
    spec = cc_group(state, gid)
    assert spec["owner_id"] == account_id and spec["name"] == "web"
    assert {(NAMES.get(r["protocol"], r["protocol"]), r["from_port"], r["to_port"],
             tuple(r["cidrs"]), tuple(r["groups"])) for r in spec["ingress"]} == {("tcp", 22, 22, ("10.0.0.0/8",), ()),
                                          ("icmp", 8, -1, (), (default["GroupId"],))}
    assert spec["egress"] == [{"protocol": "-1", "from_port": -1, "to_port": -1,
                               "cidrs": ["0.0.0.0/0"], "groups": []}]
    (web,) = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
    ssh = [p for p in web["IpPermissions"] if p["IpProtocol"] == "tcp"][0]
    assert ssh["IpRanges"] == [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}]
    rules = ec2.describe_security_group_rules(Filters=[
        {"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    assert len(rules) == 3 and {r["IsEgress"] for r in rules} == {True, False}
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    wait_cc(cloud, lambda s: len(cc_group(s, gid)["ingress"]) == 1)
    ec2.create_tags(Resources=[gid], Tags=[{"Key": "tier", "Value": "web"}])
    tagged = ec2.describe_tags(Filters=[{"Name": "resource-type",
                                         "Values": ["security-group"]}])["Tags"]
    assert tagged == [{"Key": "tier", "Value": "web", "ResourceId": gid,
                       "ResourceType": "security-group"}]
    assert ec2.describe_security_groups(Filters=[{"Name": "tag:tier", "Values": ["web"]}])[
        "SecurityGroups"][0]["GroupId"] == gid
    ec2.delete_security_group(GroupId=gid)
    wait_cc(cloud, lambda s: cc_group(s, gid) is None)
    assert [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]] == \
        ["default"]


def test_error_codes(cloud):
    _account, ec2, _key = new_account(cloud)
    gid = ec2.create_security_group(GroupName="g", Description="d")["GroupId"]
    ssh = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=ssh)
    cases = [
        (ec2.create_security_group, {"GroupName": "g", "Description": "d"},
         "InvalidGroup.Duplicate"),
        (ec2.create_security_group, {"GroupName": "n" * 256, "Description": "d"},
         "InvalidParameterValue"),
        (ec2.delete_security_group, {"GroupName": "default"}, "CannotDelete"),
        (ec2.delete_security_group, {"GroupName": "nope"}, "InvalidGroup.NotFound"),
        (ec2.describe_security_groups, {"GroupIds": ["sg-00000000"]}, "InvalidGroup.NotFound"),
        (ec2.authorize_security_group_ingress, {"GroupId": gid, "IpPermissions": ssh},
         "InvalidPermission.Duplicate"),
        (ec2.revoke_security_group_ingress, {"GroupId": gid, "IpPermissions": [
            {"IpProtocol": "udp", "FromPort": 1, "ToPort": 1,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}, "InvalidPermission.NotFound"),
        (ec2.authorize_security_group_ingress, {"GroupId": gid, "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
             "IpRanges": [{"CidrIp": "1.2.3.4/33"}]}]}, "InvalidParameterValue"),
        (ec2.authorize_security_group_ingress, {"GroupId": gid, "IpPermissions": [
            {"IpProtocol": "foo", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
         "InvalidParameterValue"),
        (ec2.authorize_security_group_ingress, {"GroupId": gid, "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 70000, "ToPort": 70001,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}, "InvalidParameterValue"),
        (ec2.authorize_security_group_ingress, {"GroupId": gid, "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
             "UserIdGroupPairs": [{"GroupName": "missing"}]}]}, "InvalidGroup.NotFound"),
        (ec2.describe_security_group_rules, {"SecurityGroupRuleIds": ["sgr-0000000000000000a"]},
         "InvalidSecurityGroupRuleId.NotFound"),
    ]
    for call, params, expect in cases:
        assert code_of(call, **params) == expect, (call.__name__, params)
    # another group's rule naming g holds it
    other = ec2.create_security_group(GroupName="other", Description="d")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=other, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}])
    assert code_of(ec2.delete_security_group, GroupId=gid) == "DependencyViolation"


def test_isolation_and_cross_account_sources(cloud):
    a_id, a, _ = new_account(cloud)
    b_id, b, _ = new_account(cloud)
    a_gid = a.create_security_group(GroupName="shared", Description="d")["GroupId"]
    assert [g["GroupName"] for g in b.describe_security_groups()["SecurityGroups"]] == \
        ["default"]
    assert code_of(b.describe_security_groups, GroupIds=[a_gid]) == "InvalidGroup.NotFound"
    assert code_of(b.delete_security_group, GroupId=a_gid) == "InvalidGroup.NotFound"
    assert code_of(b.authorize_security_group_ingress, GroupId=a_gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]) == "InvalidGroup.NotFound"
    # ... but B may name A's group as a source, by name + owner or by id
    b.authorize_security_group_ingress(GroupName="default", SourceSecurityGroupName="shared",
                                       SourceSecurityGroupOwnerId=a_id)
    b.authorize_security_group_ingress(GroupName="default", IpPermissions=[
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
         "UserIdGroupPairs": [{"GroupId": a_gid, "UserId": a_id}]}])
    (bd,) = b.describe_security_groups()["SecurityGroups"]
    pairs = [p["UserIdGroupPairs"][0] for p in bd["IpPermissions"]]
    assert {(p["GroupId"], p["UserId"]) for p in pairs} == {(a_gid, a_id)}
    assert {p["IpProtocol"] for p in bd["IpPermissions"]} == {"tcp", "udp", "icmp"}
    assert code_of(a.delete_security_group, GroupId=a_gid) == "DependencyViolation"


def test_aws_cli(cloud):
    _account, _ec2, key = new_account(cloud)
    env = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    def aws(*args):
        done = cloud.aws("ec2", *args, "--output", "json", env=env)
        return done
    made = aws("create-security-group", "--group-name", "cli", "--description", "from cli")
    assert made.returncode == 0, made.stderr
    gid = json.loads(made.stdout)["GroupId"]
    done = aws("authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
               "--port", "8000-8080", "--cidr", "192.168.0.0/16")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["SecurityGroupRules"][0]["FromPort"] == 8000
    dup = aws("authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
              "--port", "8000-8080", "--cidr", "192.168.0.0/16")
    assert dup.returncode != 0 and "InvalidPermission.Duplicate" in dup.stderr
    listed = json.loads(aws("describe-security-groups", "--group-ids", gid).stdout)
    perm = listed["SecurityGroups"][0]["IpPermissions"][0]
    assert (perm["FromPort"], perm["ToPort"], perm["IpRanges"][0]["CidrIp"]) == \
        (8000, 8080, "192.168.0.0/16")
    rules = json.loads(aws("describe-security-group-rules", "--filters",
                           f"Name=group-id,Values={gid}").stdout)["SecurityGroupRules"]
    assert len(rules) == 2
    assert aws("revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
               "--port", "8000-8080", "--cidr", "192.168.0.0/16").returncode == 0
    gone = aws("revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
               "--port", "8000-8080", "--cidr", "192.168.0.0/16")
    assert "InvalidPermission.NotFound" in gone.stderr
    assert aws("delete-security-group", "--group-id", gid).returncode == 0
    again = aws("delete-security-group", "--group-id", gid)
    assert "InvalidGroup.NotFound" in again.stderr
