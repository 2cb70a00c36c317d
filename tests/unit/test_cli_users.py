"""euare-usercreate, -userlistbypath, -userdel, -usergetattributes against the loopback cloud."""
from __future__ import annotations

from eucalyptus.cli.access_keys import user_list_keys
from eucalyptus.cli.groups import group_add_user, group_create, group_list_users
from eucalyptus.cli.policies import user_add_policy
from eucalyptus.cli.users import (user_create, user_delete, user_get_attributes,
                                  user_list_by_path)
from test_cli_fakecloud import (account_models_dir, clean_env, cloud, models, run)  # noqa: F401


def users(cloud):
    return cloud.accounts["eucalyptus"].users


def test_create_is_quiet_and_verbose_prints_arn_and_id(cloud, capsys):
    assert run(user_create, ["-u", "bob"], capsys) == (0, [], "")
    status, out, _ = run(user_create, ["-u", "carol", "-p", "/ops/", "-v"], capsys)
    assert status == 0
    assert out == [users(cloud)["carol"]["Arn"], users(cloud)["carol"]["UserId"]]
    assert out[0].endswith(":user/ops/carol")


def test_create_with_key_prints_a_key_that_works(cloud, capsys):
    status, out, _ = run(user_create, ["-u", "dave", "-k"], capsys)
    key_id, secret = out
    assert status == 0 and users(cloud)["dave"]["keys"] == [key_id]
    status, out, _ = run(user_get_attributes, ["-I", key_id, "-S", secret], capsys)
    assert status == 0 and out == [users(cloud)["dave"]["Arn"], users(cloud)["dave"]["UserId"]]


def test_list_by_path_prints_arns(cloud, capsys):
    run(user_create, ["-u", "bob"], capsys)
    run(user_create, ["-u", "carol", "-p", "/ops/"], capsys)
    status, out, _ = run(user_list_by_path, [], capsys)
    assert status == 0 and [arn.rsplit(":", 1)[1] for arn in out] == \
        ["user/admin", "user/bob", "user/ops/carol"]
    status, out, _ = run(user_list_by_path, ["-p", "/ops/"], capsys)
    assert out == [users(cloud)["carol"]["Arn"]]


def test_get_attributes_of_someone_missing(cloud, capsys):
    status, out, err = run(user_get_attributes, ["-u", "nobody"], capsys)
    assert (status, out) == (1, [])
    assert err == ("euare-usergetattributes: error (NoSuchEntity): The user with name nobody "
                   "cannot be found.\n")


def test_delete_plain_and_busy_users(cloud, capsys):
    run(user_create, ["-u", "bob"], capsys)
    assert run(user_delete, ["-u", "bob"], capsys) == (0, [], "")
    assert "bob" not in users(cloud)
    run(user_create, ["-u", "eve", "-k"], capsys)
    status, _, err = run(user_delete, ["-u", "eve"], capsys)
    assert status == 1 and err.startswith("euare-userdel: error (DeleteConflict): ")


def test_recursive_delete_clears_keys_policies_and_groups(cloud, capsys):
    run(user_create, ["-u", "eve", "-k"], capsys)
    run(group_create, ["-g", "staff"], capsys)
    run(group_add_user, ["-g", "staff", "-u", "eve"], capsys)
    run(user_add_policy, ["-u", "eve", "-p", "all", "-e", "Allow", "-a", "*", "-r", "*"], capsys)
    assert run(user_delete, ["-u", "eve", "-r"], capsys) == (0, [], "")
    assert "eve" not in users(cloud)
    assert run(group_list_users, ["-g", "staff"], capsys) == (0, [], "")
    actions = [action for action, _ in cloud.requests[-8:]]
    assert {"DeleteAccessKey", "DeleteUserPolicy", "RemoveUserFromGroup"} <= set(actions)
    assert actions[-2:] == ["DeleteUser", "GetGroup"]
    status, _, err = run(user_list_keys, ["-u", "eve"], capsys)
    assert status == 1 and "(NoSuchEntity)" in err
