"""Record formats and request members of the command families that need no server: what a
response prints as, and what arguments send (botocore's Stubber checks the request)."""
from __future__ import annotations

import argparse

from eucalyptus.cli import policies
from eucalyptus.cli.accounts import account_delete, account_of_arn, created_records
from eucalyptus.cli.regions import describe_availability_zones, describe_instance_types
from eucalyptus.cli.users import user_create
from tests.unit.test_cli_command import stubbed


def test_instance_type_without_local_disk_prints_zero():
    lines = stubbed(describe_instance_types, ["t9.ebs"], "DescribeInstanceTypes",
                    {"InstanceTypes": [{"InstanceType": "t9.ebs",
                                        "VCpuInfo": {"DefaultVCpus": 2},
                                        "MemoryInfo": {"SizeInMiB": 1024}}]},
                    {"InstanceTypes": ["t9.ebs"]})
    assert lines == ["INSTANCETYPE\tt9.ebs\t2\t1024\t0"]


def test_zone_arguments_map_to_zone_names():
    lines = stubbed(describe_availability_zones, ["verbose"], "DescribeAvailabilityZones",
                    {"AvailabilityZones": [{"ZoneName": "|- c1.medium",
                                            "State": "0002 / 0004   2   512   10"}]},
                    {"ZoneNames": ["verbose"]})
    assert lines == ["AVAILABILITYZONE\t|- c1.medium\t0002 / 0004   2   512   10"]


def test_account_delete_sends_recursive_only_when_asked():
    parse = account_delete.parser().parse_args
    assert account_delete.params(parse(["-a", "x"])) == {"AccountName": "x"}
    assert account_delete.params(parse(["-a", "x", "-r"])) == {"AccountName": "x",
                                                               "Recursive": True}


def test_created_account_prints_name_and_id_then_the_key():
    account = {"Account": {"AccountName": "a", "AccountId": "123456789012"}}
    assert list(created_records(account, argparse.Namespace())) == [("a", "123456789012")]
    with_key = dict(account, AccessKey={"AccessKeyId": "AKIA1", "SecretAccessKey": "s"})
    assert list(created_records(with_key, argparse.Namespace())) == [
        ("a", "123456789012"), "AKIA1", "s"]


def test_user_create_sends_the_path_only_when_given():
    parse = user_create.parser().parse_args
    assert user_create.params(parse(["-u", "bob"])) == {"UserName": "bob"}
    assert user_create.params(parse(["-u", "bob", "-p", "/ops/", "-k"])) == {
        "UserName": "bob", "Path": "/ops/"}


def test_account_of_arn():
    assert account_of_arn("arn:aws:iam::123456789012:user/admin") == "123456789012"
    assert account_of_arn("arn:aws:iam::123456789012:root") == "123456789012"
    assert account_of_arn("nonsense") == ""


def test_statement_policy_writes_single_values_as_strings():
    assert policies.statement_policy("Deny", ["iam:*"], ["*"])["Statement"] == [
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]
    assert policies.statement_policy("Allow", ["a:b", "a:c"], ["r1", "r2"])["Statement"][0][
        "Action"] == ["a:b", "a:c"]


def test_user_and_group_policy_commands_are_twins():
    users, groups = policies.policy_commands("user"), policies.policy_commands("group")
    assert users.keys() == groups.keys() == {"add", "upload", "list", "get", "delete"}
    for verb in users:
        assert users[verb].name.replace("user", "group") == groups[verb].name
        assert users[verb].operation.replace("User", "Group") == groups[verb].operation
