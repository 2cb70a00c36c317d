"""euare-useraddkey, -userlistkeys, -usermodkey, -userdelkey against the live cloud.

Each test works inside a fresh account of its own (the ``account`` fixture), as its admin.
"""
from __future__ import annotations

import json

import pytest

from eucalyptus.cli.access_keys import user_add_key, user_del_key, user_list_keys, user_mod_key
from eucalyptus.cli.regions import describe_regions
from eucalyptus.cli.users import user_create
from tests.api.cli_runner import SQLITE_ONLY, Key, account, cli  # noqa: F401 (fixtures)

pytestmark = SQLITE_ONLY


def test_add_list_modify_delete(cli, account):
    cli(user_create, "-u", "bob").ok()
    key_id, secret = cli(user_add_key, "-u", "bob").ok()
    assert cli(user_list_keys, "-u", "bob").ok() == [f"{key_id}\tActive"]
    document = json.loads("\n".join(cli(user_list_keys, "-u", "bob", "--json").ok()))
    assert [(k["AccessKeyId"], k["UserName"]) for k in document["AccessKeyMetadata"]] == \
        [(key_id, "bob")]
    # the printed secret is the key's: bob is known to the cloud (and denied by default)
    ran = cli(describe_regions, "-I", key_id, "-S", secret)
    assert ran.status == 1 and "(UnauthorizedOperation)" in ran.err
    assert cli(user_mod_key, "-u", "bob", "-k", key_id, "-s", "Inactive").ok() == []
    assert cli(user_list_keys, "-u", "bob").ok() == [f"{key_id}\tInactive"]
    # an inactive key no longer authenticates
    ran = cli(describe_regions, "-I", key_id, "-S", secret)
    assert ran.status == 1 and "(AuthFailure)" in ran.err
    assert cli(user_del_key, "-u", "bob", "-k", key_id).ok() == []
    assert cli(user_list_keys, "-u", "bob").ok() == []


def test_without_user_acts_on_the_caller(cli, account):
    assert cli(user_list_keys).ok() == [f"{account.key_id}\tActive"]
    key_id, secret = cli(user_add_key).ok()
    me = cli.iam(Key(key_id, secret)).get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{account.account_id}:user/admin"
    assert sorted(cli(user_list_keys).ok()) == sorted([f"{account.key_id}\tActive",
                                                       f"{key_id}\tActive"])
    assert cli(user_del_key, "-k", key_id).ok() == []


def test_limit_and_missing_key(cli, account):
    cli(user_create, "-u", "bob", "-k").ok()
    cli(user_add_key, "-u", "bob").ok()
    ran = cli(user_add_key, "-u", "bob")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == ("euare-useraddkey: error (LimitExceeded): Cannot exceed quota for "
                       "AccessKeysPerUser: 2\n")
    ran = cli(user_del_key, "-u", "bob", "-k", "AKIANOTAKEY000000000")
    assert ran.status == 1
    assert ran.err == ("euare-userdelkey: error (NoSuchEntity): The Access Key with id "
                       "AKIANOTAKEY000000000 cannot be found.\n")


def test_a_status_other_than_active_or_inactive_is_a_usage_error(cli, account):
    with pytest.raises(SystemExit) as stop:
        cli(user_mod_key, "-k", account.key_id, "-s", "Paused")
    assert stop.value.code == 2
