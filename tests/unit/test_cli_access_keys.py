"""euare-useraddkey, -userlistkeys, -usermodkey, -userdelkey against the loopback cloud."""
from __future__ import annotations

from eucalyptus.cli.access_keys import user_add_key, user_del_key, user_list_keys, user_mod_key
from eucalyptus.cli.regions import describe_regions
from eucalyptus.cli.users import user_create
from test_cli_fakecloud import ADMIN_KEY, run
from test_cli_fakecloud import account_models_dir, clean_env, cloud, models  # noqa: F401


def test_add_list_modify_delete(cloud, capsys):
    run(user_create, ["-u", "bob"], capsys)
    status, out, _ = run(user_add_key, ["-u", "bob"], capsys)
    key_id, secret = out
    assert status == 0 and cloud.keys[key_id]["secret"] == secret
    assert run(user_list_keys, ["-u", "bob"], capsys) == (0, [f"{key_id}\tActive"], "")
    assert run(user_mod_key, ["-u", "bob", "-k", key_id, "-s", "Inactive"], capsys)[0] == 0
    assert run(user_list_keys, ["-u", "bob"], capsys)[1] == [f"{key_id}\tInactive"]
    # an inactive key no longer authenticates
    status, _, err = run(describe_regions, ["-I", key_id, "-S", secret], capsys)
    assert status == 1 and "(AuthFailure)" in err
    assert run(user_del_key, ["-u", "bob", "-k", key_id], capsys) == (0, [], "")
    assert run(user_list_keys, ["-u", "bob"], capsys) == (0, [], "")


def test_without_user_acts_on_the_caller(cloud, capsys):
    assert run(user_list_keys, [], capsys)[1] == [f"{ADMIN_KEY}\tActive"]
    status, out, _ = run(user_add_key, [], capsys)
    assert status == 0 and cloud.keys[out[0]]["user"] == "admin"


def test_limit_and_bad_status(cloud, capsys):
    run(user_create, ["-u", "bob", "-k"], capsys)
    run(user_add_key, ["-u", "bob"], capsys)
    status, _, err = run(user_add_key, ["-u", "bob"], capsys)
    assert status == 1
    assert err == ("euare-useraddkey: error (LimitExceeded): Cannot exceed quota for "
                   "AccessKeysPerUser: 2\n")
    status, _, err = run(user_del_key, ["-u", "bob", "-k", "AKIANOTAKEY000000000"], capsys)
    assert status == 1 and "(NoSuchEntity)" in err
