"""IAM groups and membership."""
import pytest

from eucalyptus.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NotFound
from eucalyptus.services.iam import groups, inline_policies, managed_policies, users
from tests.unit.test_iam_support import policy_text

POLICY = policy_text()


def test_group_lifecycle_and_membership(world, root):
    g = world.call(root, groups.create_group, group_name="devs", path="/eng/")["Group"]
    assert g["Arn"] == f"arn:aws:iam::{root.account_id}:group/eng/devs"
    assert g["GroupId"].startswith("AGPA")
    with pytest.raises(EntityAlreadyExists):
        world.call(root, groups.create_group, group_name="DEVS")
    for name in ("carol", "bob"):
        world.call(root, users.create_user, user_name=name)
        world.call(root, groups.add_user_to_group, group_name="devs", user_name=name)
    world.call(root, groups.add_user_to_group, group_name="devs", user_name="bob")  # no-op
    got = world.call(root, groups.get_group, group_name="devs")
    assert got["Group"] == g
    assert [u["UserName"] for u in got["Users"]] == ["bob", "carol"]
    page = world.call(root, groups.get_group, group_name="devs", max_items=1)
    assert page["IsTruncated"] and [u["UserName"] for u in page["Users"]] == ["bob"]
    rest = world.call(root, groups.get_group, group_name="devs", marker=page["Marker"])
    assert [u["UserName"] for u in rest["Users"]] == ["carol"] and not rest["IsTruncated"]
    world.call(root, groups.create_group, group_name="ops")
    world.call(root, groups.add_user_to_group, group_name="ops", user_name="bob")
    mine = world.call(root, groups.list_groups_for_user, user_name="bob")["Groups"]
    assert [x["GroupName"] for x in mine] == ["devs", "ops"]
    world.call(root, groups.remove_user_from_group, group_name="devs", user_name="bob")
    with pytest.raises(NotFound):
        world.call(root, groups.remove_user_from_group, group_name="devs", user_name="bob")
    mine = world.call(root, groups.list_groups_for_user, user_name="bob")["Groups"]
    assert [x["GroupName"] for x in mine] == ["ops"]


def test_list_groups_and_update(world, root):
    world.call(root, groups.create_group, group_name="a", path="/x/")
    world.call(root, groups.create_group, group_name="b")
    assert [g["GroupName"] for g in world.call(root, groups.list_groups)["Groups"]] == ["a", "b"]
    assert [g["GroupName"] for g in
            world.call(root, groups.list_groups, path_prefix="/x")["Groups"]] == ["a"]
    with pytest.raises(EntityAlreadyExists):
        world.call(root, groups.update_group, group_name="a", new_group_name="B")
    world.call(root, groups.update_group, group_name="a", new_group_name="c", new_path="/y/")
    got = world.call(root, groups.get_group, group_name="c")["Group"]
    assert got["Arn"].endswith(":group/y/c")


def test_missing_group_or_user(world, root):
    world.call(root, groups.create_group, group_name="devs")
    with pytest.raises(NotFound):
        world.call(root, groups.get_group, group_name="ghosts")
    with pytest.raises(NotFound):
        world.call(root, groups.add_user_to_group, group_name="devs", user_name="ghost")


def test_delete_group_conflicts(world, root):
    world.call(root, groups.create_group, group_name="devs")
    world.call(root, users.create_user, user_name="bob")
    world.call(root, groups.add_user_to_group, group_name="devs", user_name="bob")
    world.call(root, inline_policies.put_group_policy, group_name="devs", policy_name="p",
               policy_document=POLICY)
    arn = world.call(root, managed_policies.create_policy, policy_name="m",
                     policy_document=POLICY)["Policy"]["Arn"]
    world.call(root, managed_policies.attach_group_policy, group_name="devs", policy_arn=arn)
    steps = [
        lambda: world.call(root, groups.remove_user_from_group, group_name="devs",
                           user_name="bob"),
        lambda: world.call(root, inline_policies.delete_group_policy, group_name="devs",
                           policy_name="p"),
        lambda: world.call(root, managed_policies.detach_group_policy, group_name="devs",
                           policy_arn=arn),
    ]
    for step in steps:
        with pytest.raises(DeleteConflict):
            world.call(root, groups.delete_group, group_name="devs")
        step()
    world.call(root, groups.delete_group, group_name="devs")
    assert world.call(root, groups.list_groups)["Groups"] == []


def test_groups_per_user_limit(world, root):
    world.call(root, users.create_user, user_name="bob")
    for i in range(groups.GROUPS_PER_USER + 1):
        world.call(root, groups.create_group, group_name=f"g{i:02d}")
    for i in range(groups.GROUPS_PER_USER):
        world.call(root, groups.add_user_to_group, group_name=f"g{i:02d}", user_name="bob")
    with pytest.raises(LimitExceeded):
        world.call(root, groups.add_user_to_group, group_name=f"g{groups.GROUPS_PER_USER:02d}",
                   user_name="bob")


def test_groups_are_isolated_between_accounts(world, root):
    other = world.account("beta")
    world.call(root, groups.create_group, group_name="devs")
    world.call(other, users.create_user, user_name="eve")
    assert world.call(other, groups.list_groups)["Groups"] == []
    with pytest.raises(NotFound):
        world.call(other, groups.get_group, group_name="devs")
    with pytest.raises(NotFound):
        world.call(other, groups.add_user_to_group, group_name="devs", user_name="eve")
    with pytest.raises(NotFound):                      # root's account has no user eve
        world.call(root, groups.add_user_to_group, group_name="devs", user_name="eve")
