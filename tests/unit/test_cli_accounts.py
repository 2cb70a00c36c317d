"""euare-accountcreate, -accountlist, -accountdel against the loopback cloud."""
from __future__ import annotations

from eucalyptus.cli.accounts import account_create, account_delete, account_list, account_of_arn
from eucalyptus.cli.users import user_create, user_list_by_path
from test_cli_fakecloud import (account_models_dir, clean_env, cloud, models, run)  # noqa: F401


def test_create_prints_name_and_id_and_list_shows_it(cloud, capsys):
    status, out, err = run(account_create, ["-a", "alpha"], capsys)
    assert (status, err) == (0, "")
    assert out == [f"alpha\t{cloud.accounts['alpha'].id}"]
    status, out, _ = run(account_list, [], capsys)
    assert status == 0
    assert out == [f"eucalyptus\t{cloud.accounts['eucalyptus'].id}",
                   f"alpha\t{cloud.accounts['alpha'].id}"]


def test_create_twice_is_the_clouds_conflict(cloud, capsys):
    run(account_create, ["-a", "alpha"], capsys)
    status, out, err = run(account_create, ["-a", "alpha"], capsys)
    assert (status, out) == (1, [])
    assert err == "euare-accountcreate: error (EntityAlreadyExists): Account already exists\n"


def test_create_with_key_gives_a_working_key_of_the_new_admin(cloud, capsys, monkeypatch):
    status, out, _ = run(account_create, ["-a", "beta", "-k"], capsys)
    assert status == 0
    name_id, key_id, secret = out
    assert name_id == f"beta\t{cloud.accounts['beta'].id}"
    assert cloud.keys[key_id]["account"] == "beta" and cloud.keys[key_id]["user"] == "admin"
    assert cloud.requests[-2][1]["DelegateAccount"] == "beta"   # the CreateAccessKey request
    # the new key works and acts inside the new account
    monkeypatch.setenv("EC2_ACCESS_KEY", key_id)
    monkeypatch.setenv("EC2_SECRET_KEY", secret)
    status, out, _ = run(user_list_by_path, [], capsys)
    assert out == [f"arn:aws:iam::{cloud.accounts['beta'].id}:user/admin"]


def test_key_made_in_the_wrong_account_is_deleted_and_fails(cloud, capsys):
    cloud.honour_delegate = False
    status, out, err = run(account_create, ["-a", "gamma", "-k"], capsys)
    assert status == 1 and out == []
    gamma, admin = cloud.accounts["gamma"].id, cloud.accounts["eucalyptus"].id
    assert err == (f"euare-accountcreate: error: account gamma ({gamma}) was created, but the "
                   f"cloud made its admin key in account {admin} (DelegateAccount not honoured); "
                   "that key was deleted\n")
    assert cloud.accounts["eucalyptus"].users["admin"]["keys"] == ["AKIAADMINADMINADMIN0"]
    assert cloud.accounts["gamma"].users["admin"]["keys"] == []


def test_delete_refuses_a_busy_account_unless_recursive(cloud, capsys, monkeypatch):
    run(account_create, ["-a", "delta", "-k"], capsys)
    key_id = next(k for k, v in cloud.keys.items() if v["account"] == "delta")
    run(user_create, ["-u", "bob", "-I", key_id, "-S", cloud.keys[key_id]["secret"]], capsys)
    status, _, err = run(account_delete, ["-a", "delta"], capsys)
    assert status == 1 and err.startswith("euare-accountdel: error (DeleteConflict): ")
    assert run(account_delete, ["-a", "delta", "-r"], capsys)[:2] == (0, [])
    assert cloud.requests[-1][1]["Recursive"] == "true"
    assert "delta" not in cloud.accounts


def test_only_the_cloud_admin_may_list_accounts(cloud, capsys):
    run(account_create, ["-a", "eps", "-k"], capsys)
    key_id = next(k for k, v in cloud.keys.items() if v["account"] == "eps")
    status, _, err = run(account_list, ["-I", key_id, "-S", cloud.keys[key_id]["secret"]], capsys)
    assert status == 1
    assert err == ("euare-accountlist: error (AccessDenied): Only the cloud administrator may "
                   "do that\n")


def test_account_of_arn():
    assert account_of_arn("arn:aws:iam::123456789012:user/admin") == "123456789012"
    assert account_of_arn("arn:aws:iam::123456789012:root") == "123456789012"
    assert account_of_arn("nonsense") == ""
