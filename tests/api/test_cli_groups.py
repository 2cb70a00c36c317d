"""euare-group* membership and lifecycle commands against the live cloud.

Each test works inside a fresh account of its own (the ``account`` fixture), as its admin.
"""
from __future__ import annotations

import json

from eucalyptus.cli.groups import (group_add_user, group_create, group_delete, group_list_by_path,
                                   group_list_users, group_remove_user)
from eucalyptus.cli.policies import group_upload_policy
from eucalyptus.cli.users import user_create
from tests.api.cli_runner import SQLITE_ONLY, account, cli  # noqa: F401 (fixtures)

pytestmark = SQLITE_ONLY

ALLOW_ALL = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", ' \
            '"Resource": "*"}]}'


def test_create_and_list_by_path(cli, account):
    assert cli(group_create, "-g", "staff").ok() == []
    out = cli(group_create, "-g", "ops", "-p", "/eng/", "-v").ok()
    ops = cli.iam(account).get_group(GroupName="ops")["Group"]
    assert out == [ops["Arn"], ops["GroupId"]]
    assert ops["Arn"] == f"arn:aws:iam::{account.account_id}:group/eng/ops"
    listed = cli(group_list_by_path).ok()
    assert sorted(arn.split(":", 5)[5] for arn in listed) == ["group/eng/ops", "group/staff"]
    assert cli(group_list_by_path, "-p", "/eng/").ok() == [ops["Arn"]]
    document = json.loads("\n".join(cli(group_list_by_path, "--json").ok()))
    assert sorted(g["GroupName"] for g in document["Groups"]) == ["ops", "staff"]


def test_membership(cli, account):
    cli(group_create, "-g", "staff").ok()
    for name in ("bob", "carol"):
        cli(user_create, "-u", name).ok()
        assert cli(group_add_user, "-g", "staff", "-u", name).ok() == []
    arns = {u["UserName"]: u["Arn"] for u in cli.iam(account).list_users()["Users"]}
    assert cli(group_list_users, "-g", "staff").ok() == [arns["bob"], arns["carol"]]
    assert cli(group_remove_user, "-g", "staff", "-u", "bob").ok() == []
    assert cli(group_list_users, "-g", "staff").ok() == [arns["carol"]]
    document = json.loads("\n".join(cli(group_list_users, "-g", "staff", "--json").ok()))
    assert [u["UserName"] for u in document["Users"]] == ["carol"]


def test_delete_busy_group_needs_recursive(cli, account):
    cli(group_create, "-g", "staff").ok()
    cli(user_create, "-u", "bob").ok()
    cli(group_add_user, "-g", "staff", "-u", "bob").ok()
    cli(group_upload_policy, "-g", "staff", "-p", "p", "-o", ALLOW_ALL).ok()
    iam = cli.iam(account)
    managed = iam.create_policy(PolicyName="managed", PolicyDocument=ALLOW_ALL)["Policy"]
    iam.attach_group_policy(GroupName="staff", PolicyArn=managed["Arn"])
    ran = cli(group_delete, "-g", "staff")
    assert ran.status == 1
    assert ran.err == ("euare-groupdel: error (DeleteConflict): Cannot delete entity, must "
                       "remove users from group first.\n")
    assert cli(group_delete, "-g", "staff", "-r").ok() == []
    assert iam.list_groups()["Groups"] == []
    assert iam.list_groups_for_user(UserName="bob")["Groups"] == []
    assert iam.get_policy(PolicyArn=managed["Arn"])["Policy"]["AttachmentCount"] == 0


def test_missing_group(cli, account):
    ran = cli(group_add_user, "-g", "nope", "-u", "admin")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == ("euare-groupadduser: error (NoSuchEntity): The group with name nope "
                       "cannot be found.\n")
