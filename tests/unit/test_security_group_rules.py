"""Authorize/Revoke SecurityGroupIngress/Egress and DescribeSecurityGroupRules: IpPermissions
and the legacy flat parameters, protocols and ports, CIDR and group sources (another
account's too), the AWS refusals, rule ids, and the group spec the cluster is sent."""
from __future__ import annotations

import pytest

from eucalyptus.clc import network_sync
from eucalyptus.services.ec2.instances import default_group_id
from eucalyptus.services.ec2.security_group_rules import ports_of, protocol_of
from tests.unit.test_security_group_support import A, B, net  # noqa: F401

DEFAULT_A = default_group_id(A)


def ingress(net, account=A, group="default") -> list:
    (g,) = net.call("DescribeSecurityGroups", account, GroupNames=[group])["SecurityGroups"]
    return g["IpPermissions"]


def tcp(port, cidr="0.0.0.0/0", to=None) -> dict:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port if to is None else to,
            "IpRanges": [{"CidrIp": cidr}]}


@pytest.mark.parametrize("value, expect", [
    ("tcp", "tcp"), ("TCP", "tcp"), ("6", "tcp"), ("17", "udp"), ("1", "icmp"),
    ("-1", "-1"), ("all", "-1"), ("47", "47"), ("0", "0")])
def test_protocols(value, expect):
    assert protocol_of(value) == expect


@pytest.mark.parametrize("value", ["gre", "256", "-2", "", None, "1.5"])
def test_bad_protocols(value):
    with pytest.raises(Exception) as err:
        protocol_of(value)
    assert err.value.code == "InvalidParameterValue"


@pytest.mark.parametrize("protocol, low, high, expect", [
    ("tcp", 22, 22, (22, 22)), ("udp", 0, 65535, (0, 65535)), ("tcp", -1, -1, (0, 65535)),
    ("icmp", None, None, (-1, -1)), ("icmp", 8, -1, (8, -1)), ("icmp", 3, 4, (3, 4)),
    ("-1", 5, 6, (-1, -1)), ("47", None, None, (-1, -1))])
def test_ports(protocol, low, high, expect):
    assert ports_of(protocol, low, high) == expect


@pytest.mark.parametrize("protocol, low, high", [
    ("tcp", None, 22), ("tcp", 22, None), ("tcp", 30, 20), ("udp", 0, 65536),
    ("tcp", -5, 10), ("icmp", -1, 3), ("icmp", 256, 0), ("icmp", 0, -2)])
def test_bad_ports(protocol, low, high):
    with pytest.raises(Exception) as err:
        ports_of(protocol, low, high)
    assert err.value.code == "InvalidParameterValue"


def test_authorize_merges_in_describe_and_returns_rule_ids(net):
    out = net.call("AuthorizeSecurityGroupIngress", GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "office"},
                      {"CidrIp": "192.168.1.7/24"}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
         "UserIdGroupPairs": [{"GroupName": "default"}]}])
    rules = out["SecurityGroupRules"]
    assert out["Return"] is True and len(rules) == 3
    assert all(r["SecurityGroupRuleId"].startswith("sgr-") for r in rules)
    assert rules[0] == {"SecurityGroupRuleId": rules[0]["SecurityGroupRuleId"],
                        "GroupId": DEFAULT_A, "GroupOwnerId": A, "IsEgress": False,
                        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                        "CidrIpv4": "10.0.0.0/8", "Description": "office", "Tags": []}
    assert rules[1]["CidrIpv4"] == "192.168.1.0/24"          # normalised
    assert rules[2]["ReferencedGroupInfo"] == {"GroupId": DEFAULT_A, "UserId": A}
    perms = ingress(net)
    assert perms[0]["IpRanges"] == [{"CidrIp": "10.0.0.0/8", "Description": "office"},
                                    {"CidrIp": "192.168.1.0/24"}]
    assert perms[1]["UserIdGroupPairs"] == [{"GroupId": DEFAULT_A, "UserId": A,
                                             "GroupName": "default"}]
    assert (perms[1]["FromPort"], perms[1]["ToPort"]) == (8, -1)
    assert net.pushed[-1].groups == {DEFAULT_A}
    listed = net.call("DescribeSecurityGroupRules", Filters=[
        {"Name": "group-id", "Values": [DEFAULT_A]}])["SecurityGroupRules"]
    assert len(listed) == 4                                  # + the default egress rule
    one = net.call("DescribeSecurityGroupRules",
                   SecurityGroupRuleIds=[rules[2]["SecurityGroupRuleId"]])
    assert one["SecurityGroupRules"][0]["ReferencedGroupInfo"]["GroupId"] == DEFAULT_A
    assert net.code("DescribeSecurityGroupRules", SecurityGroupRuleIds=["sgr-0123456789abcdef0"]
                    ) == "InvalidSecurityGroupRuleId.NotFound"
    assert net.call("DescribeSecurityGroupRules", B)["SecurityGroupRules"][0]["GroupOwnerId"] \
        == B                                                 # B sees only its own


def test_duplicate_and_missing_rules(net):
    net.call("AuthorizeSecurityGroupIngress", GroupName="default", IpPermissions=[tcp(22)])
    assert net.code("AuthorizeSecurityGroupIngress", GroupName="default",
                    IpPermissions=[tcp(80), tcp(22)]) == "InvalidPermission.Duplicate"
    assert len(ingress(net)) == 1                             # all or nothing
    assert net.code("RevokeSecurityGroupIngress", GroupName="default",
                    IpPermissions=[tcp(23)]) == "InvalidPermission.NotFound"
    assert net.code("RevokeSecurityGroupIngress", GroupName="default",
                    IpPermissions=[tcp(22, "10.0.0.0/8")]) == "InvalidPermission.NotFound"
    net.call("RevokeSecurityGroupIngress", GroupName="default", IpPermissions=[tcp(22)])
    assert ingress(net) == []
    assert net.pushed[-1].groups == {DEFAULT_A}


@pytest.mark.parametrize("perm, code", [
    (tcp(22, "10.0.0.0"), "InvalidParameterValue"),
    (tcp(22, "10.0.0.300/8"), "InvalidParameterValue"),
    (tcp(22, "banana"), "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}, "MissingParameter"),
    ({"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 9, "ToPort": 1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
      "UserIdGroupPairs": [{"GroupName": "nope"}]}, "InvalidGroup.NotFound"),
    ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
      "UserIdGroupPairs": [{"GroupId": "sg-00000000"}]}, "InvalidGroup.NotFound"),
    ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
      "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}, "InvalidParameterValue"),
])
def test_bad_permissions(net, perm, code):
    assert net.code("AuthorizeSecurityGroupIngress", GroupName="default",
                    IpPermissions=[perm]) == code


def test_legacy_flat_parameters(net):
    net.call("AuthorizeSecurityGroupIngress", GroupName="default", IpProtocol="tcp",
             FromPort=22, ToPort=22, CidrIp="10.1.0.0/16")
    net.call("AuthorizeSecurityGroupIngress", GroupName="default", IpProtocol="udp",
             FromPort=53, ToPort=53)                          # no CIDR: the whole world
    net.call("CreateSecurityGroup", GroupName="peers", Description="d")
    net.call("AuthorizeSecurityGroupIngress", GroupName="default",
             SourceSecurityGroupName="peers", SourceSecurityGroupOwnerId=A)
    perms = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")): p for p in ingress(net)}
    assert perms[("tcp", 22, 22)]["IpRanges"] == [{"CidrIp": "10.1.0.0/16"}]
    assert perms[("udp", 53, 53)]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    for key in (("tcp", 0, 65535), ("udp", 0, 65535), ("icmp", -1, -1)):   # EC2-classic
        assert perms[key]["UserIdGroupPairs"][0]["GroupName"] == "peers"
    net.call("RevokeSecurityGroupIngress", GroupName="default", IpProtocol="tcp",
             FromPort=22, ToPort=22, CidrIp="10.1.0.0/16")
    assert ("tcp", 22, 22) not in {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"))
                                   for p in ingress(net)}
    assert net.code("AuthorizeSecurityGroupIngress", GroupName="default", IpProtocol="tcp",
                    FromPort=1, ToPort=1, IpPermissions=[tcp(2)]) == \
        "InvalidParameterCombination"
    assert net.code("AuthorizeSecurityGroupIngress", GroupName="default") == "MissingParameter"


def test_another_accounts_group_as_source(net):
    b_web = net.call("CreateSecurityGroup", B, GroupName="web", Description="d")["GroupId"]
    net.call("AuthorizeSecurityGroupIngress", GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "UserIdGroupPairs": [{"GroupName": "web", "UserId": B}]}])
    net.call("AuthorizeSecurityGroupIngress", GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 81, "ToPort": 81,
         "UserIdGroupPairs": [{"GroupId": default_group_id(B)}]}])  # B's default, by id
    pairs = [p["UserIdGroupPairs"][0] for p in ingress(net)]
    assert pairs[0] == {"GroupId": b_web, "UserId": B, "GroupName": "web"}
    assert pairs[1]["UserId"] == B and pairs[1]["GroupName"] == "default"
    assert net.code("AuthorizeSecurityGroupIngress", GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
         "UserIdGroupPairs": [{"GroupName": "web"}]}]) == "InvalidGroup.NotFound"  # not A's
    assert net.code("AuthorizeSecurityGroupIngress", GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
         "UserIdGroupPairs": [{"GroupId": b_web, "UserId": A}]}]) == "InvalidGroup.NotFound"


def test_egress_and_revoke_by_rule_id(net):
    gid = net.call("CreateSecurityGroup", GroupName="locked", Description="d")["GroupId"]
    (g,) = net.call("DescribeSecurityGroups", GroupIds=[gid])["SecurityGroups"]
    assert g["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    rules = net.call("DescribeSecurityGroupRules", Filters=[
        {"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    (all_out,) = [r for r in rules if r["IsEgress"]]
    net.call("RevokeSecurityGroupEgress", GroupId=gid,
             SecurityGroupRuleIds=[all_out["SecurityGroupRuleId"]])
    out = net.call("AuthorizeSecurityGroupEgress", GroupId=gid, IpPermissions=[
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
         "IpRanges": [{"CidrIp": "10.0.0.2/32"}]}])
    assert out["SecurityGroupRules"][0]["IsEgress"] is True
    assert net.code("AuthorizeSecurityGroupEgress", GroupId=gid, IpPermissions=[
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
         "IpRanges": [{"CidrIp": "10.0.0.2/32"}]}]) == "InvalidPermission.Duplicate"
    assert net.code("RevokeSecurityGroupEgress", GroupId=gid,
                    SecurityGroupRuleIds=[all_out["SecurityGroupRuleId"]]) == \
        "InvalidSecurityGroupRuleId.NotFound"
    with net.db.session() as s:
        (spec,) = network_sync.group_specs(s, {gid})
    assert spec.owner_id == A and spec.name == "locked" and spec.ingress == []
    assert [(r.protocol, r.from_port, r.to_port, r.cidrs, r.groups) for r in spec.egress] == [
        ("udp", 53, 53, ["10.0.0.2/32"], [])]


def test_group_spec_aggregates_sources(net):
    net.call("AuthorizeSecurityGroupIngress", GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "172.16.0.0/12"}],
         "UserIdGroupPairs": [{"GroupName": "default"}]},
        {"IpProtocol": "47", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    with net.db.session() as s:
        (spec,) = network_sync.group_specs(s, {DEFAULT_A})
    assert [(r.protocol, r.from_port, r.to_port, r.cidrs, r.groups) for r in spec.ingress] == [
        ("tcp", 22, 22, ["10.0.0.0/8", "172.16.0.0/12"], [DEFAULT_A]),
        ("47", -1, -1, ["0.0.0.0/0"], [])]
    assert [(r.protocol, r.cidrs) for r in spec.egress] == [("-1", ["0.0.0.0/0"])]
