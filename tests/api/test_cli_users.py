"""euare-usercreate, -userlistbypath, -userdel, -usergetattributes against the live cloud.

Each test works inside a fresh account of its own (the ``account`` fixture), as its admin.
"""
from __future__ import annotations

import json

from eucalyptus.cli.access_keys import user_list_keys
from eucalyptus.cli.groups import group_add_user, group_create, group_list_users
from eucalyptus.cli.policies import user_add_policy
from eucalyptus.cli.users import (user_create, user_delete, user_get_attributes,
                                  user_list_by_path)
from tests.api.cli_runner import SQLITE_ONLY, account, cli  # noqa: F401 (fixtures)

pytestmark = SQLITE_ONLY


def user(cli, account, name) -> dict:
    return cli.iam(account).get_user(UserName=name)["User"]


def test_create_is_quiet_and_verbose_prints_arn_and_id(cli, account):
    assert cli(user_create, "-u", "bob").ok() == []
    out = cli(user_create, "-u", "carol", "-p", "/ops/", "-v").ok()
    carol = user(cli, account, "carol")
    assert out == [carol["Arn"], carol["UserId"]]
    assert out[0] == f"arn:aws:iam::{account.account_id}:user/ops/carol"
    assert user(cli, account, "bob")["Path"] == "/"


def test_create_with_key_prints_a_key_that_works(cli, account):
    key_id, secret = cli(user_create, "-u", "dave", "-k").ok()
    keys = cli.iam(account).list_access_keys(UserName="dave")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key_id]
    dave = user(cli, account, "dave")
    as_dave = ("-I", key_id, "-S", secret)
    ran = cli(user_get_attributes, *as_dave)        # the key is dave's: denied by default
    assert ran.status == 1 and ran.err == (
        f"euare-usergetattributes: error (AccessDenied): User: {dave['Arn']} is not "
        f"authorized to perform: iam:GetUser on resource: {dave['Arn']}\n")
    cli(user_add_policy, "-u", "dave", "-p", "me", "-e", "Allow", "-a", "iam:GetUser",
        "-r", dave["Arn"]).ok()
    assert cli(user_get_attributes, *as_dave).ok() == [dave["Arn"], dave["UserId"]]


def test_get_attributes_without_a_name_is_the_caller(cli, account):
    me = cli.iam(account).get_user()["User"]
    assert cli(user_get_attributes).ok() == [me["Arn"], me["UserId"]]
    document = json.loads("\n".join(cli(user_get_attributes, "--json").ok()))
    assert document["User"]["UserName"] == "admin"


def test_list_by_path_prints_arns(cli, account):
    cli(user_create, "-u", "bob").ok()
    cli(user_create, "-u", "carol", "-p", "/ops/").ok()
    out = cli(user_list_by_path).ok()
    assert [arn.split(":", 5)[5] for arn in out] == ["user/admin", "user/bob", "user/ops/carol"]
    assert cli(user_list_by_path, "-p", "/ops/").ok() == [user(cli, account, "carol")["Arn"]]
    document = json.loads("\n".join(cli(user_list_by_path, "--json").ok()))
    assert [u["UserName"] for u in document["Users"]] == ["admin", "bob", "carol"]


def test_get_attributes_of_someone_missing(cli, account):
    ran = cli(user_get_attributes, "-u", "nobody")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == ("euare-usergetattributes: error (NoSuchEntity): The user with name "
                       "nobody cannot be found.\n")


def test_delete_plain_and_busy_users(cli, account):
    cli(user_create, "-u", "bob").ok()
    assert cli(user_delete, "-u", "bob").ok() == []
    assert [u["UserName"] for u in cli.iam(account).list_users()["Users"]] == ["admin"]
    cli(user_create, "-u", "eve", "-k").ok()
    ran = cli(user_delete, "-u", "eve")
    assert ran.status == 1
    assert ran.err == ("euare-userdel: error (DeleteConflict): Cannot delete entity, must "
                       "delete access keys first.\n")


def test_recursive_delete_clears_keys_policies_and_groups(cli, account):
    cli(user_create, "-u", "eve", "-k").ok()
    cli(group_create, "-g", "staff").ok()
    cli(group_add_user, "-g", "staff", "-u", "eve").ok()
    cli(user_add_policy, "-u", "eve", "-p", "all", "-e", "Allow", "-a", "*", "-r", "*").ok()
    iam = cli.iam(account)
    policy = iam.create_policy(PolicyName="managed", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}))["Policy"]
    iam.attach_user_policy(UserName="eve", PolicyArn=policy["Arn"])
    assert cli(user_delete, "-u", "eve", "-r").ok() == []
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["admin"]
    assert cli(group_list_users, "-g", "staff").ok() == []
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 0
    ran = cli(user_list_keys, "-u", "eve")
    assert ran.status == 1 and "error (NoSuchEntity): " in ran.err
