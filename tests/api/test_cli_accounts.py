"""euare-accountcreate, -accountlist, -accountdel against the live cloud (as its admin)."""
from __future__ import annotations

from eucalyptus.cli import accounts
from eucalyptus.cli.accounts import (account_create, account_delete, account_list,
                                     delegate_to)
from eucalyptus.cli.users import user_create, user_list_by_path
from tests.api.cli_runner import SQLITE_ONLY, Key, cli, unique  # noqa: F401 (cli: a fixture)

pytestmark = SQLITE_ONLY


def listed(cli) -> dict[str, str]:
    """Account name -> id, as the cloud admin sees them (not through the commands)."""
    return {a["AccountName"]: a["AccountId"] for a in cli.iam().list_accounts()["Accounts"]}


def test_create_prints_name_and_id_and_list_shows_it(cli):
    name = unique("alpha")
    cli.accounts.append(name)
    out = cli(account_create, "-a", name).ok()
    every = listed(cli)
    assert out == [f"{name}\t{every[name]}"] and len(every[name]) == 12
    shown = cli(account_list).ok()
    assert shown == [f"{n}\t{i}" for n, i in sorted(every.items())]
    assert f"eucalyptus\t{cli.admin.account_id}" in shown


def test_create_twice_is_the_clouds_conflict(cli):
    name = unique("alpha")
    cli.accounts.append(name)
    cli(account_create, "-a", name).ok()
    ran = cli(account_create, "-a", name)
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == (f"euare-accountcreate: error (EntityAlreadyExists): Account {name} "
                       "already exists.\n")


def test_create_with_key_gives_a_working_key_of_the_new_admin(cli):
    name = unique("beta")
    cli.accounts.append(name)
    name_id, key_id, secret = cli(account_create, "-a", name, "-k").ok()
    account_id = listed(cli)[name]
    assert name_id == f"{name}\t{account_id}"
    owner = cli.iam(Key(key_id, secret)).get_user()["User"]
    assert (owner["UserName"], owner["Arn"].split(":")[4]) == ("admin", account_id)
    # the new key signs commands that act inside the new account
    cli.act_as(Key(key_id, secret))
    assert cli(user_list_by_path).ok() == [f"arn:aws:iam::{account_id}:user/admin"]


def test_key_made_in_the_wrong_account_is_deleted_and_fails(cli, monkeypatch):
    # a cloud that ignores DelegateAccount makes the key for the caller (the cloud admin)
    monkeypatch.setattr(accounts, "delegate_to", lambda client, operation, account: None)
    admin_keys = cli.iam().list_access_keys()["AccessKeyMetadata"]
    name = unique("gamma")
    cli.accounts.append(name)
    ran = cli(account_create, "-a", name, "-k")
    assert (ran.status, ran.out) == (1, [])
    account_id = listed(cli)[name]
    assert ran.err == (f"euare-accountcreate: error: account {name} ({account_id}) was "
                       f"created, but the cloud made its admin key in account "
                       f"{cli.admin.account_id} (DelegateAccount not honoured); that key was "
                       "deleted\n")
    assert cli.iam().list_access_keys()["AccessKeyMetadata"] == admin_keys
    inside = cli.iam()
    delegate_to(inside, "ListAccessKeys", name)
    assert inside.list_access_keys(UserName="admin")["AccessKeyMetadata"] == []


def test_delete_refuses_a_busy_account_unless_recursive(cli):
    key = cli.new_account()
    cli(user_create, "-u", "bob", "-I", key.key_id, "-S", key.secret).ok()
    ran = cli(account_delete, "-a", key.account_name)
    assert ran.status == 1
    assert ran.err.startswith(f"euare-accountdel: error (DeleteConflict): Cannot delete account "
                              f"{key.account_name}: it still has ")
    assert ran.err.count("\n") == 1
    assert key.account_name in listed(cli)
    assert cli(account_delete, "-a", key.account_name, "-r").ok() == []
    cli.forget_account(key.account_name)
    assert key.account_name not in listed(cli)


def test_delete_of_an_empty_account_needs_no_recursion(cli):
    name = unique("empty")
    cli.accounts.append(name)
    cli(account_create, "-a", name).ok()
    assert cli(account_delete, "-a", name).ok() == []
    cli.forget_account(name)
    assert name not in listed(cli)


def test_only_the_cloud_admin_may_manage_accounts(cli):
    key = cli.new_account()
    cli.act_as(key)
    for command, argv in [(account_list, []), (account_create, ["-a", unique("eps")]),
                          (account_delete, ["-a", key.account_name])]:
        ran = cli(command, *argv)
        assert (ran.status, ran.out) == (1, [])
        assert ran.err.startswith(f"{command.name}: error (AccessDenied): ")
        assert ran.err.count("\n") == 1
    assert key.account_name in listed(cli)
