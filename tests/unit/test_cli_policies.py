"""Inline policy commands of users and groups against the loopback cloud."""
from __future__ import annotations

import io
import json

import pytest

from eucalyptus.cli import policies
from eucalyptus.cli.groups import group_create
from eucalyptus.cli.users import user_create
from test_cli_fakecloud import (account_models_dir, clean_env, cloud, models, run)  # noqa: F401

DOC = {"Version": "2012-10-17",
       "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}


def test_statement_policy_writes_single_values_as_strings():
    assert policies.statement_policy("Deny", ["iam:*"], ["*"])["Statement"] == [
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]
    assert policies.statement_policy("Allow", ["a:b", "a:c"], ["r1", "r2"])["Statement"][0][
        "Action"] == ["a:b", "a:c"]


@pytest.mark.parametrize("kind", ["user", "group"])
def test_add_list_get_delete(kind, cloud, capsys):
    flag, commands = f"-{kind[0]}", policies.policy_commands(kind)
    run(user_create if kind == "user" else group_create, [flag, "who"], capsys)
    status, out, _ = run(commands["add"], [flag, "who", "-p", "ro", "-e", "Allow",
                                           "-a", "ec2:Describe*", "-r", "*", "-o"], capsys)
    assert status == 0 and json.loads("\n".join(out)) == DOC
    assert run(commands["upload"], [flag, "who", "-p", "deny", "-o", json.dumps(DOC)],
               capsys)[0] == 0
    assert run(commands["list"], [flag, "who"], capsys) == (0, ["deny", "ro"], "")
    status, out, _ = run(commands["get"], [flag, "who", "-p", "ro"], capsys)
    assert status == 0 and json.loads("\n".join(out)) == DOC
    assert run(commands["delete"], [flag, "who", "-p", "ro"], capsys) == (0, [], "")
    assert run(commands["list"], [flag, "who"], capsys)[1] == ["deny"]
    status, _, err = run(commands["get"], [flag, "who", "-p", "ro"], capsys)
    assert status == 1 and err == (f"euare-{kind}getpolicy: error (NoSuchEntity): The policy "
                                   "ro cannot be found.\n")


def test_upload_from_file_and_stdin(cloud, capsys, tmp_path, monkeypatch):
    run(user_create, ["-u", "bob"], capsys)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(DOC))
    assert run(policies.user_upload_policy, ["-u", "bob", "-p", "f", "-f", str(path)],
               capsys)[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(DOC)))
    assert run(policies.user_upload_policy, ["-u", "bob", "-p", "s", "-f", "-"], capsys)[0] == 0
    stored = cloud.accounts["eucalyptus"].users["bob"]["policies"]
    assert json.loads(stored["f"]) == json.loads(stored["s"]) == DOC


def test_upload_errors_are_one_line(cloud, capsys, tmp_path):
    run(user_create, ["-u", "bob"], capsys)
    base = ["-u", "bob", "-p", "x"]
    cases = [
        ([], "give exactly one of -f/--policy-document and -o/--policy-content"),
        (["-o", "{}", "-f", "x"], "give exactly one of"),
        (["-o", "{not json"], "the policy document is not JSON"),
        (["-f", str(tmp_path / "missing.json")], "cannot read"),
    ]
    for extra, message in cases:
        status, _, err = run(policies.user_upload_policy, base + extra, capsys)
        assert status == 1 and err.startswith(f"euare-useruploadpolicy: error: {message}")
        assert err.count("\n") == 1
    status, _, err = run(policies.user_upload_policy, base + ["-o", '{"Version": "1"}'], capsys)
    assert status == 1
    assert err == ("euare-useruploadpolicy: error (MalformedPolicyDocument): Syntax errors in "
                   "policy.\n")
    assert cloud.accounts["eucalyptus"].users["bob"]["policies"] == {}


def test_list_json(cloud, capsys):
    run(group_create, ["-g", "g"], capsys)
    run(policies.group_upload_policy, ["-g", "g", "-p", "p1", "-o", json.dumps(DOC)], capsys)
    status, out, _ = run(policies.group_list_policies, ["-g", "g", "--json"], capsys)
    assert json.loads("\n".join(out)) == {"PolicyNames": ["p1"]}
