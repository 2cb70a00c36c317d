"""euare-group* membership and lifecycle commands against the loopback cloud."""
from __future__ import annotations

import json

from eucalyptus.cli.groups import (group_add_user, group_create, group_delete, group_list_by_path,
                                   group_list_users, group_remove_user)
from eucalyptus.cli.policies import group_upload_policy
from eucalyptus.cli.users import user_create
from test_cli_fakecloud import (account_models_dir, clean_env, cloud, models, run)  # noqa: F401


def groups(cloud):
    return cloud.accounts["eucalyptus"].groups


def test_create_and_list_by_path(cloud, capsys):
    assert run(group_create, ["-g", "staff"], capsys) == (0, [], "")
    status, out, _ = run(group_create, ["-g", "ops", "-p", "/eng/", "-v"], capsys)
    assert out == [groups(cloud)["ops"]["Arn"], groups(cloud)["ops"]["GroupId"]]
    status, out, _ = run(group_list_by_path, [], capsys)
    assert status == 0 and [arn.rsplit(":", 1)[1] for arn in out] == ["group/staff",
                                                                      "group/eng/ops"]
    assert run(group_list_by_path, ["-p", "/eng/"], capsys)[1] == [groups(cloud)["ops"]["Arn"]]
    status, out, _ = run(group_list_by_path, ["--json"], capsys)
    assert [g["GroupName"] for g in json.loads("\n".join(out))["Groups"]] == ["staff", "ops"]


def test_membership(cloud, capsys):
    run(group_create, ["-g", "staff"], capsys)
    for name in ("bob", "carol"):
        run(user_create, ["-u", name], capsys)
        assert run(group_add_user, ["-g", "staff", "-u", name], capsys) == (0, [], "")
    status, out, _ = run(group_list_users, ["-g", "staff"], capsys)
    users = cloud.accounts["eucalyptus"].users
    assert (status, out) == (0, [users["bob"]["Arn"], users["carol"]["Arn"]])
    assert run(group_remove_user, ["-g", "staff", "-u", "bob"], capsys) == (0, [], "")
    assert run(group_list_users, ["-g", "staff"], capsys)[1] == [users["carol"]["Arn"]]


def test_delete_busy_group_needs_recursive(cloud, capsys):
    run(group_create, ["-g", "staff"], capsys)
    run(user_create, ["-u", "bob"], capsys)
    run(group_add_user, ["-g", "staff", "-u", "bob"], capsys)
    run(group_upload_policy, ["-g", "staff", "-p", "p", "-o",
                              '{"Statement": [{"Effect": "Allow", "Action": "*", '
                              '"Resource": "*"}]}'], capsys)
    status, _, err = run(group_delete, ["-g", "staff"], capsys)
    assert status == 1 and err.startswith("euare-groupdel: error (DeleteConflict): ")
    assert run(group_delete, ["-g", "staff", "-r"], capsys) == (0, [], "")
    assert "staff" not in groups(cloud)
    assert cloud.accounts["eucalyptus"].users["bob"]["groups"] == set()


def test_missing_group(cloud, capsys):
    status, _, err = run(group_add_user, ["-g", "nope", "-u", "admin"], capsys)
    assert status == 1
    assert err == ("euare-groupadduser: error (NoSuchEntity): The group with name nope cannot "
                   "be found.\n")
