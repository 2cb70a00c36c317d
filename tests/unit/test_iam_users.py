"""IAM users: create, get, update, delete, list; account isolation."""
import pytest

from eucalyptus.errors import (DeleteConflict, EntityAlreadyExists, MissingAuthenticationToken,
                               NotFound, ValidationError)
from eucalyptus.services.iam import (access_keys, groups, inline_policies, managed_policies,
                                     users)
from tests.unit.test_iam_support import policy_text

POLICY = policy_text()


def test_create_and_get_user(world, root):
    made = world.call(root, users.create_user, user_name="bob", path="/eng/")["User"]
    assert made["Arn"] == f"arn:aws:iam::{root.account_id}:user/eng/bob"
    assert made["UserId"].startswith("AIDA") and len(made["UserId"]) == 21
    got = world.call(root, users.get_user, user_name="BOB")["User"]      # names: any case
    assert got == made


def test_get_user_without_name_is_the_caller(world, root):
    world.call(root, users.create_user, user_name="bob")
    bob = world.user("alpha", "bob")
    assert world.call(bob, users.get_user)["User"]["UserName"] == "bob"
    assert world.call(root, users.get_user)["User"]["UserName"] == "admin"


def test_duplicate_names_differ_only_in_case(world, root):
    world.call(root, users.create_user, user_name="Bob")
    with pytest.raises(EntityAlreadyExists) as err:
        world.call(root, users.create_user, user_name="bob")
    assert err.value.status == 409


@pytest.mark.parametrize("params", [
    {"user_name": ""}, {"user_name": "has space"}, {"user_name": "x" * 65},
    {"user_name": "ok", "path": "no-slash"}, {"user_name": "ok", "path": "/trailing"},
    {"user_name": "ok", "tags": [{"Key": "k", "Value": "v"}]},
])
def test_create_user_validation(world, root, params):
    with pytest.raises(ValidationError) as err:
        world.call(root, users.create_user, **params)
    assert err.value.status == 400


def test_missing_user(world, root):
    with pytest.raises(NotFound) as err:
        world.call(root, users.get_user, user_name="ghost")
    assert (err.value.code, err.value.status) == ("NoSuchEntity", 404)


def test_anonymous_calls_are_refused(world):
    with pytest.raises(MissingAuthenticationToken):
        world.call(None, users.list_users)


def test_update_user_renames_and_moves(world, root):
    world.call(root, users.create_user, user_name="bob")
    world.call(root, users.create_user, user_name="carol")
    with pytest.raises(EntityAlreadyExists):
        world.call(root, users.update_user, user_name="bob", new_user_name="CAROL")
    world.call(root, users.update_user, user_name="bob", new_user_name="robert",
               new_path="/ops/")
    got = world.call(root, users.get_user, user_name="robert")["User"]
    assert got["Arn"].endswith(":user/ops/robert")
    with pytest.raises(NotFound):
        world.call(root, users.get_user, user_name="bob")
    with pytest.raises(ValidationError):
        world.call(root, users.update_user, user_name="admin", new_user_name="boss")


def test_list_users_path_prefix_and_pagination(world, root):
    for i in range(5):
        world.call(root, users.create_user, user_name=f"u{i}", path="/team/" if i % 2 else "/")
    team = world.call(root, users.list_users, path_prefix="/team/")["Users"]
    assert [u["UserName"] for u in team] == ["u1", "u3"]
    seen, marker = [], None
    while True:
        kw = {"max_items": 2} | ({"marker": marker} if marker else {})
        page = world.call(root, users.list_users, **kw)
        seen += [u["UserName"] for u in page["Users"]]
        assert len(page["Users"]) <= 2
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert seen == ["admin", "u0", "u1", "u2", "u3", "u4"]
    for bad in (0, 1001):
        with pytest.raises(ValidationError):
            world.call(root, users.list_users, max_items=bad)
    with pytest.raises(ValidationError):
        world.call(root, users.list_users, marker="%%%not-a-marker")
    with pytest.raises(ValidationError):
        world.call(root, users.list_users, path_prefix="team")


def test_delete_user_conflicts_until_detached(world, root):
    world.call(root, users.create_user, user_name="bob")
    world.call(root, groups.create_group, group_name="devs")
    key = world.call(root, access_keys.create_access_key, user_name="bob")["AccessKey"]
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="p",
               policy_document=POLICY)
    arn = world.call(root, managed_policies.create_policy, policy_name="m",
                     policy_document=POLICY)["Policy"]["Arn"]
    world.call(root, managed_policies.attach_user_policy, user_name="bob", policy_arn=arn)
    world.call(root, groups.add_user_to_group, group_name="devs", user_name="bob")
    undo = [
        lambda: world.call(root, access_keys.delete_access_key, user_name="bob",
                           access_key_id=key["AccessKeyId"]),
        lambda: world.call(root, inline_policies.delete_user_policy, user_name="bob",
                           policy_name="p"),
        lambda: world.call(root, managed_policies.detach_user_policy, user_name="bob",
                           policy_arn=arn),
        lambda: world.call(root, groups.remove_user_from_group, group_name="devs",
                           user_name="bob"),
    ]
    for step in undo:
        with pytest.raises(DeleteConflict) as err:
            world.call(root, users.delete_user, user_name="bob")
        assert err.value.status == 409
        step()
    world.call(root, users.delete_user, user_name="bob")
    with pytest.raises(NotFound):
        world.call(root, users.get_user, user_name="bob")


def test_account_root_user_cannot_be_deleted(world, root):
    with pytest.raises(DeleteConflict):
        world.call(root, users.delete_user, user_name="admin")


def test_accounts_are_isolated(world, root):
    other = world.account("beta")
    world.call(root, users.create_user, user_name="bob")
    world.call(other, users.create_user, user_name="bob")              # same name, other account
    world.call(root, users.create_user, user_name="alice-only")
    mine = {u["UserName"]: u for u in world.call(root, users.list_users)["Users"]}
    theirs = {u["UserName"]: u for u in world.call(other, users.list_users)["Users"]}
    assert set(mine) == {"admin", "bob", "alice-only"} and set(theirs) == {"admin", "bob"}
    assert mine["bob"]["UserId"] != theirs["bob"]["UserId"]
    assert theirs["bob"]["Arn"].split(":")[4] == other.account_id
    for fn, kw in [(users.get_user, {}), (users.delete_user, {}),
                   (users.update_user, {"new_path": "/x/"}),
                   (access_keys.create_access_key, {}), (access_keys.list_access_keys, {})]:
        with pytest.raises(NotFound):
            world.call(other, fn, user_name="alice-only", **kw)
    world.call(other, users.delete_user, user_name="bob")
    assert world.call(root, users.get_user, user_name="bob")["User"]["UserName"] == "bob"
