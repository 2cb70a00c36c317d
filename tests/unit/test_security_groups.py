"""Security groups through the EC2 handlers: default group, create/delete/describe, the
refusals (duplicate, CannotDelete, DependencyViolation, NotFound), filters, isolation between
accounts, the unsupported modes, and what each change hands to the network sync."""
from __future__ import annotations

import pytest

from eucalyptus.services.ec2.instances import default_group_id
from tests.unit.test_security_group_support import A, B, Net, net  # noqa: F401


def groups(net, account=A, **params) -> dict:
    return {g["GroupName"]: g for g in
            net.call("DescribeSecurityGroups", account, **params)["SecurityGroups"]}


def test_default_group_made_on_first_need_with_stable_id_and_egress(net):
    got = groups(net)
    assert list(got) == ["default"]
    default = got["default"]
    assert default["GroupId"] == default_group_id(A) and default["OwnerId"] == A
    assert default["IpPermissions"] == []
    assert default["IpPermissionsEgress"] == [
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [],
         "PrefixListIds": [], "UserIdGroupPairs": []}]
    assert groups(net)["default"]["GroupId"] == default["GroupId"]     # made once
    assert net.pushed[0].groups == {default_group_id(A)}


def test_create_describe_delete(net):
    made = net.call("CreateSecurityGroup", GroupName="web", Description="web servers",
                    TagSpecifications=[{"ResourceType": "security-group",
                                        "Tags": [{"Key": "tier", "Value": "front"}]}])
    gid = made["GroupId"]
    assert gid.startswith("sg-") and len(gid) == 11
    assert made["Tags"] == [{"Key": "tier", "Value": "front"}]
    assert net.pushed[-1].groups == {gid, default_group_id(A)}     # default made on the way
    listed = groups(net)
    assert set(listed) == {"default", "web"}
    assert listed["web"]["Description"] == "web servers"
    assert listed["web"]["Tags"] == [{"Key": "tier", "Value": "front"}]
    assert groups(net, GroupIds=[gid]).keys() == {"web"}
    assert groups(net, GroupNames=["web", "default"]).keys() == {"web", "default"}
    assert net.call("DeleteSecurityGroup", GroupName="web") == {"Return": True, "GroupId": gid}
    assert net.pushed[-1].deleted_groups == {gid}
    assert set(groups(net)) == {"default"}
    assert net.code("DeleteSecurityGroup", GroupId=gid) == "InvalidGroup.NotFound"


@pytest.mark.parametrize("params, code", [
    ({"GroupName": "default", "Description": "d"}, "InvalidGroup.Duplicate"),
    ({"GroupName": "sg-abc", "Description": "d"}, "InvalidParameterValue"),
    ({"GroupName": "x" * 256, "Description": "d"}, "InvalidParameterValue"),
    ({"GroupName": "ok", "Description": "d" * 256}, "InvalidParameterValue"),
    ({"Description": "d"}, "MissingParameter"),
    ({"GroupName": "ok"}, "MissingParameter"),
])
def test_create_refusals(net, params, code):
    assert net.code("CreateSecurityGroup", **params) == code


def test_duplicate_name_per_account_only(net):
    net.call("CreateSecurityGroup", GroupName="db", Description="d")
    assert net.code("CreateSecurityGroup", GroupName="db", Description="d") == \
        "InvalidGroup.Duplicate"
    net.call("CreateSecurityGroup", B, GroupName="db", Description="d")
    assert net.call("CreateSecurityGroup", GroupName="x" * 255, Description="d")["GroupId"]


def test_default_cannot_be_deleted(net):
    assert net.code("DeleteSecurityGroup", GroupName="default") == "CannotDelete"
    assert net.code("DeleteSecurityGroup", GroupId=default_group_id(A)) == "CannotDelete"
    assert net.code("DeleteSecurityGroup") == "MissingParameter"
    assert net.code("DeleteSecurityGroup", GroupId="sg-zz") == "InvalidGroupId.Malformed"


def test_in_use_by_live_instance_is_dependency_violation(net):
    gid = net.call("CreateSecurityGroup", GroupName="app", Description="d")["GroupId"]
    iid = net.instance(groups=[[gid, "app"]])
    assert net.code("DeleteSecurityGroup", GroupId=gid) == "DependencyViolation"
    net.set_state(iid, "shutting-down")
    assert net.code("DeleteSecurityGroup", GroupId=gid) == "DependencyViolation"
    net.set_state(iid, "terminated")
    net.call("DeleteSecurityGroup", GroupId=gid)


def test_referenced_by_another_groups_rule_is_dependency_violation(net):
    src = net.call("CreateSecurityGroup", GroupName="src", Description="d")["GroupId"]
    net.call("AuthorizeSecurityGroupIngress", B, GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "UserIdGroupPairs": [{"GroupId": src, "UserId": A}]}])
    assert net.code("DeleteSecurityGroup", GroupId=src) == "DependencyViolation"
    net.call("RevokeSecurityGroupIngress", B, GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "UserIdGroupPairs": [{"GroupId": src}]}])
    # a rule naming the group itself does not hold it
    net.call("AuthorizeSecurityGroupIngress", GroupId=src, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": src}]}])
    net.call("DeleteSecurityGroup", GroupId=src)


def test_accounts_see_and_change_only_their_own(net):
    gid = net.call("CreateSecurityGroup", GroupName="mine", Description="d")["GroupId"]
    assert set(groups(net, B)) == {"default"}
    assert net.code("DescribeSecurityGroups", B, GroupIds=[gid]) == "InvalidGroup.NotFound"
    assert net.code("DescribeSecurityGroups", B, GroupNames=["mine"]) == "InvalidGroup.NotFound"
    assert net.code("DeleteSecurityGroup", B, GroupId=gid) == "InvalidGroup.NotFound"
    assert net.code("AuthorizeSecurityGroupIngress", B, GroupId=gid, IpProtocol="tcp",
                    FromPort=1, ToPort=2, CidrIp="0.0.0.0/0") == "InvalidGroup.NotFound"
    assert groups(net)["mine"]["IpPermissions"] == []


def test_describe_filters(net):
    web = net.call("CreateSecurityGroup", GroupName="web", Description="front end")["GroupId"]
    net.call("CreateSecurityGroup", GroupName="db", Description="back end")
    net.call("AuthorizeSecurityGroupIngress", GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "UserIdGroupPairs": [{"GroupName": "db"}]}])
    net.call("CreateTags", Resources=[web], Tags=[{"Key": "env", "Value": "prod"}])

    def names(*filters):
        return set(groups(net, Filters=[{"Name": n, "Values": v} for n, v in filters]))
    assert names(("group-name", ["w*"])) == {"web"}
    assert names(("description", ["back end"])) == {"db"}
    assert names(("owner-id", [A])) == {"web", "db", "default"}
    assert names(("group-id", [web])) == {"web"}
    assert names(("ip-permission.from-port", ["80"])) == {"web"}
    assert names(("ip-permission.cidr", ["10.0.0.0/8"])) == {"web"}
    assert names(("ip-permission.group-name", ["db"])) == {"web"}
    assert names(("ip-permission.user-id", [A])) == {"web"}
    assert names(("ip-permission.protocol", ["tcp"]), ("ip-permission.to-port", ["22"])) \
        == {"web"}
    assert names(("egress.ip-permission.cidr", ["0.0.0.0/0"])) == {"web", "db", "default"}
    assert names(("tag:env", ["prod"])) == {"web"}
    assert net.code("DescribeSecurityGroups", Filters=[{"Name": "bogus", "Values": ["x"]}]) \
        == "InvalidParameterValue"
    tags = net.call("DescribeTags", Filters=[{"Name": "resource-type",
                                              "Values": ["security-group"]}])["Tags"]
    assert tags == [{"Key": "env", "Value": "prod", "ResourceId": web,
                     "ResourceType": "security-group"}]


def test_describe_pages(net):
    for i in range(6):
        net.call("CreateSecurityGroup", GroupName=f"g{i}", Description="d")
    first = net.call("DescribeSecurityGroups", MaxResults=5)
    assert len(first["SecurityGroups"]) == 5 and first["NextToken"]
    rest = net.call("DescribeSecurityGroups", MaxResults=5, NextToken=first["NextToken"])
    assert len(rest["SecurityGroups"]) == 2 and "NextToken" not in rest


@pytest.mark.parametrize("mode", ["STATIC", "SYSTEM"])
def test_unsupported_modes(tmp_path, tmp_path_factory, mode):
    other = Net(tmp_path, tmp_path_factory, mode=mode)
    try:
        for op, params in (("CreateSecurityGroup", {"GroupName": "x", "Description": "d"}),
                           ("AuthorizeSecurityGroupIngress", {
                               "GroupName": "default", "IpProtocol": "tcp", "FromPort": 22,
                               "ToPort": 22, "CidrIp": "0.0.0.0/0"}),
                           ("AuthorizeSecurityGroupEgress", {
                               "GroupId": default_group_id(A), "IpPermissions": [
                                   {"IpProtocol": "-1",
                                    "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]}),
                           ("RevokeSecurityGroupIngress", {
                               "GroupName": "default", "IpProtocol": "tcp", "FromPort": 22,
                               "ToPort": 22, "CidrIp": "0.0.0.0/0"})):
            with pytest.raises(Exception) as err:
                other.call(op, **params)
            assert err.value.code == "UnsupportedOperation" and err.value.status == 400
            assert f"not supported in network mode {mode}" in err.value.message
        assert list(groups(other)) == ["default"]
    finally:
        other.close()


def test_rolled_back_request_pushes_nothing(net):
    groups(net)
    before = len(net.pushed)
    assert net.code("CreateSecurityGroup", GroupName="default", Description="d")
    assert len(net.pushed) == before
