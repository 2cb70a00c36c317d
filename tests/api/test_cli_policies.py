"""Inline policy commands of users and groups against the live cloud.

Each test works inside a fresh account of its own (the ``account`` fixture), as its admin.
"""
from __future__ import annotations

import io
import json

import pytest

from eucalyptus.cli import policies
from eucalyptus.cli.groups import group_create
from eucalyptus.cli.users import user_create
from tests.api.cli_runner import SQLITE_ONLY, account, cli  # noqa: F401 (fixtures)

pytestmark = SQLITE_ONLY

DOC = {"Version": "2012-10-17",
       "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}


@pytest.mark.parametrize("kind", ["user", "group"])
def test_add_upload_list_get_delete(kind, cli, account):
    flag, commands = f"-{kind[0]}", policies.policy_commands(kind)
    cli(user_create if kind == "user" else group_create, flag, "who").ok()
    out = cli(commands["add"], flag, "who", "-p", "ro", "-e", "Allow", "-a", "ec2:Describe*",
              "-r", "*", "-o").ok()
    assert json.loads("\n".join(out)) == DOC
    assert cli(commands["upload"], flag, "who", "-p", "deny", "-o", json.dumps(DOC)).ok() == []
    assert cli(commands["list"], flag, "who").ok() == ["deny", "ro"]
    assert json.loads("\n".join(cli(commands["get"], flag, "who", "-p", "ro").ok())) == DOC
    stored = getattr(cli.iam(account), f"get_{kind}_policy")(
        **{f"{kind.capitalize()}Name": "who", "PolicyName": "ro"})["PolicyDocument"]
    assert stored == DOC                      # botocore decodes what the cloud stored
    assert cli(commands["delete"], flag, "who", "-p", "ro").ok() == []
    assert cli(commands["list"], flag, "who").ok() == ["deny"]
    ran = cli(commands["get"], flag, "who", "-p", "ro")
    assert ran.status == 1
    assert ran.err == (f"euare-{kind}getpolicy: error (NoSuchEntity): The {kind} policy with "
                       "name ro cannot be found.\n")


def test_add_with_several_actions_and_resources(cli, account):
    cli(user_create, "-u", "bob").ok()
    cli(policies.user_add_policy, "-u", "bob", "-p", "two", "-e", "Deny", "-a", "iam:Get*",
        "-a", "iam:List*", "-r", "arn:aws:iam::*:user/a", "-r", "arn:aws:iam::*:user/b").ok()
    got = cli.iam(account).get_user_policy(UserName="bob", PolicyName="two")["PolicyDocument"]
    assert got["Statement"] == [{"Effect": "Deny", "Action": ["iam:Get*", "iam:List*"],
                                 "Resource": ["arn:aws:iam::*:user/a", "arn:aws:iam::*:user/b"]}]


def test_upload_from_file_and_stdin(cli, account, tmp_path, monkeypatch):
    cli(user_create, "-u", "bob").ok()
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(DOC, indent=4))
    assert cli(policies.user_upload_policy, "-u", "bob", "-p", "f", "-f", str(path)).ok() == []
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(DOC)))
    assert cli(policies.user_upload_policy, "-u", "bob", "-p", "s", "-f", "-").ok() == []
    iam = cli.iam(account)
    for name in ("f", "s"):
        assert iam.get_user_policy(UserName="bob", PolicyName=name)["PolicyDocument"] == DOC


def test_upload_errors_are_one_line(cli, account, tmp_path):
    cli(user_create, "-u", "bob").ok()
    base = ["-u", "bob", "-p", "x"]
    cases = [
        ([], "give exactly one of -f/--policy-document and -o/--policy-content"),
        (["-o", "{}", "-f", "x"], "give exactly one of"),
        (["-o", "{not json"], "the policy document is not JSON"),
        (["-f", str(tmp_path / "missing.json")], "cannot read"),
    ]
    for extra, message in cases:
        ran = cli(policies.user_upload_policy, *base, *extra)
        assert ran.status == 1 and ran.err.startswith(f"euare-useruploadpolicy: error: {message}")
        assert ran.err.count("\n") == 1
    ran = cli(policies.user_upload_policy, *base, "-o", '{"Version": "1"}')
    assert ran.status == 1
    assert ran.err == ("euare-useruploadpolicy: error (MalformedPolicyDocument): Policy "
                       "document version 1 is not supported.\n")
    assert cli.iam(account).list_user_policies(UserName="bob")["PolicyNames"] == []


def test_list_json(cli, account):
    cli(group_create, "-g", "g").ok()
    cli(policies.group_upload_policy, "-g", "g", "-p", "p1", "-o", json.dumps(DOC)).ok()
    out = cli(policies.group_list_policies, "-g", "g", "--json").ok()
    assert json.loads("\n".join(out)) == {"PolicyNames": ["p1"]}       # every page, merged
