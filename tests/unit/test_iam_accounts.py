"""Eucalyptus accounts: CreateAccount / ListAccounts / DeleteAccount."""
import pytest

from eucalyptus.errors import (AccessDenied, DeleteConflict, EntityAlreadyExists, NotFound,
                               ValidationError)
from eucalyptus.services.iam import (access_keys, accounts, groups, inline_policies,
                                     managed_policies, users)
from eucalyptus.services.iam.identity import lookup_credentials
from tests.unit.test_iam_support import policy_text

POLICY = policy_text()


def test_create_account_makes_root_admin(world):
    out = world.call(world.admin, accounts.create_account, account_name="research")
    acct = out["Account"]
    assert acct["AccountName"] == "research"
    assert len(acct["AccountId"]) == 12 and acct["AccountId"].isdigit()
    root = world.user("research", "admin")
    assert root.is_root and not root.is_cloud_admin
    assert root.account_id == acct["AccountId"]
    assert root.arn == f"arn:aws:iam::{acct['AccountId']}:root"
    listed = world.call(root, users.list_users)["Users"]
    assert [(u["UserName"], u["Path"]) for u in listed] == [("admin", "/")]


def test_list_accounts_shows_all(world):
    world.account("alpha")
    world.account("beta")
    names = [a["AccountName"] for a in world.call(world.admin, accounts.list_accounts)["Accounts"]]
    assert names == ["alpha", "beta", "eucalyptus"]


def test_account_operations_are_for_the_cloud_admin_only(world):
    root = world.account("alpha")
    world.call(root, users.create_user, user_name="bob")
    bob = world.user("alpha", "bob")
    for who in (root, bob):
        with pytest.raises(AccessDenied) as err:
            world.call(who, accounts.create_account, account_name="gamma")
        assert err.value.status == 403 and "iam:CreateAccount" in err.value.message
        with pytest.raises(AccessDenied):
            world.call(who, accounts.list_accounts)
        with pytest.raises(AccessDenied):
            world.call(who, accounts.delete_account, account_name="alpha")


def test_duplicate_and_bad_names(world):
    world.account("alpha")
    with pytest.raises(EntityAlreadyExists):
        world.call(world.admin, accounts.create_account, account_name="alpha")
    for bad in ("", "ab", "Has Space", "-lead", "UPPER", "x" * 64):
        with pytest.raises(ValidationError):
            world.call(world.admin, accounts.create_account, account_name=bad)


def test_eucalyptus_account_cannot_be_deleted(world):
    with pytest.raises(DeleteConflict):
        world.call(world.admin, accounts.delete_account, account_name="eucalyptus", recursive=True)


def test_delete_missing_account(world):
    with pytest.raises(NotFound) as err:
        world.call(world.admin, accounts.delete_account, account_name="nowhere")
    assert err.value.code == "NoSuchEntity"


def test_empty_account_deletes_and_its_admin_keys_stop_working(world):
    root = world.account("alpha")
    world.call(world.admin, accounts.delete_account, account_name="alpha")
    with world.session() as s:
        assert lookup_credentials(s, root.access_key_id) is None
    names = [a["AccountName"] for a in world.call(world.admin, accounts.list_accounts)["Accounts"]]
    assert names == ["eucalyptus"]


@pytest.mark.parametrize("holding", ["user", "group", "managed", "inline"])
def test_account_with_contents_needs_recursive(world, holding):
    root = world.account("alpha")
    if holding == "user":
        world.call(root, users.create_user, user_name="bob")
    elif holding == "group":
        world.call(root, groups.create_group, group_name="devs")
    elif holding == "managed":
        world.call(root, managed_policies.create_policy, policy_name="p", policy_document=POLICY)
    else:
        world.call(root, inline_policies.put_user_policy, user_name="admin", policy_name="p",
                   policy_document=POLICY)
    with pytest.raises(DeleteConflict) as err:
        world.call(world.admin, accounts.delete_account, account_name="alpha")
    assert err.value.status == 409
    world.call(world.admin, accounts.delete_account, account_name="alpha", recursive="true")
    with pytest.raises(NotFound):
        world.call(world.admin, accounts.delete_account, account_name="alpha")


def test_recursive_delete_removes_everything(world):
    root = world.account("alpha")
    world.call(root, users.create_user, user_name="bob")
    world.call(root, groups.create_group, group_name="devs")
    world.call(root, groups.add_user_to_group, group_name="devs", user_name="bob")
    key = world.call(root, access_keys.create_access_key, user_name="bob")["AccessKey"]
    arn = world.call(root, managed_policies.create_policy, policy_name="p",
                     policy_document=POLICY)["Policy"]["Arn"]
    world.call(root, managed_policies.attach_user_policy, user_name="bob", policy_arn=arn)
    world.call(root, managed_policies.attach_group_policy, group_name="devs", policy_arn=arn)
    world.call(root, inline_policies.put_group_policy, group_name="devs", policy_name="g",
               policy_document=POLICY)
    world.call(world.admin, accounts.delete_account, account_name="alpha", recursive=True)
    with world.session() as s:
        assert lookup_credentials(s, key["AccessKeyId"]) is None
        from eucalyptus.db.schema import (GroupMember, InlinePolicy, ManagedPolicy,
                                          PolicyAttachment, PolicyVersion, User)
        for model in (User, GroupMember, InlinePolicy, ManagedPolicy, PolicyAttachment,
                      PolicyVersion):
            rows = s.query(model).all()
            if model is User:
                assert [u.name for u in rows] == ["admin"]        # the cloud admin remains
            else:
                assert rows == [], model
    # the name is free again
    world.account("alpha")
