"""Customer managed policies: versions, attachments, conflicts and limits."""
import json
from urllib.parse import unquote

import pytest

from eucalyptus.errors import (DeleteConflict, EntityAlreadyExists, LimitExceeded, NotFound,
                               ValidationError)
from eucalyptus.services.iam import groups, managed_policies as mp, users
from eucalyptus.services.iam.policy import MalformedPolicyDocument
from tests.unit.test_iam_support import policy_text


@pytest.fixture
def root(root, world):
    world.call(root, users.create_user, user_name="bob", path="/eng/")
    world.call(root, users.create_user, user_name="carol")
    world.call(root, groups.create_group, group_name="devs")
    return root


def create(world, root, name="ec2-all", **kw):
    return world.call(root, mp.create_policy, policy_name=name,
                      policy_document=kw.pop("policy_document", policy_text()), **kw)["Policy"]


def test_create_get_list(world, root):
    p = create(world, root, path="/team/", description="everything ec2")
    assert p["Arn"] == f"arn:aws:iam::{root.account_id}:policy/team/ec2-all"
    assert p["PolicyId"].startswith("ANPA")
    assert (p["DefaultVersionId"], p["AttachmentCount"], p["IsAttachable"]) == ("v1", 0, True)
    assert world.call(root, mp.get_policy, policy_arn=p["Arn"])["Policy"] == p
    with pytest.raises(EntityAlreadyExists):
        create(world, root, name="EC2-ALL")
    create(world, root, name="other")
    names = [x["PolicyName"] for x in world.call(root, mp.list_policies)["Policies"]]
    assert names == ["ec2-all", "other"]
    assert [x["PolicyName"] for x in
            world.call(root, mp.list_policies, path_prefix="/team/")["Policies"]] == ["ec2-all"]
    assert world.call(root, mp.list_policies, scope="AWS")["Policies"] == []
    with pytest.raises(MalformedPolicyDocument):
        create(world, root, name="bad", policy_document="{}")


@pytest.mark.parametrize("arn, error", [
    ("not-an-arn", ValidationError),
    ("arn:aws:iam::123:policy/x", ValidationError),
    ("arn:aws:iam::aws:policy/AdministratorAccess", NotFound),
])
def test_bad_or_unknown_arns(world, root, arn, error):
    with pytest.raises(error):
        world.call(root, mp.get_policy, policy_arn=arn)


def test_arn_path_must_match(world, root):
    p = create(world, root, path="/team/")
    with pytest.raises(NotFound):
        world.call(root, mp.get_policy, policy_arn=p["Arn"].replace("/team/", "/"))


def test_versions(world, root):
    arn = create(world, root)["Arn"]
    v2 = world.call(root, mp.create_policy_version, policy_arn=arn,
                    policy_document=policy_text("s3:*"))["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", False)
    assert json.loads(unquote(v2["Document"]))["Statement"][0]["Action"] == "s3:*"
    v3 = world.call(root, mp.create_policy_version, policy_arn=arn,
                    policy_document=policy_text("iam:*"), set_as_default=True)["PolicyVersion"]
    assert v3["IsDefaultVersion"]
    assert world.call(root, mp.get_policy, policy_arn=arn)["Policy"]["DefaultVersionId"] == "v3"
    listed = world.call(root, mp.list_policy_versions, policy_arn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in listed] == \
        [("v3", True), ("v2", False), ("v1", False)]
    world.call(root, mp.set_default_policy_version, policy_arn=arn, version_id="v1")
    got = world.call(root, mp.get_policy_version, policy_arn=arn, version_id="v1")
    assert got["PolicyVersion"]["IsDefaultVersion"]
    with pytest.raises(DeleteConflict):
        world.call(root, mp.delete_policy_version, policy_arn=arn, version_id="v1")
    with pytest.raises(NotFound):
        world.call(root, mp.get_policy_version, policy_arn=arn, version_id="v9")
    with pytest.raises(ValidationError):
        world.call(root, mp.get_policy_version, policy_arn=arn, version_id="first")
    world.call(root, mp.create_policy_version, policy_arn=arn, policy_document=policy_text())
    world.call(root, mp.create_policy_version, policy_arn=arn, policy_document=policy_text())
    with pytest.raises(LimitExceeded):
        world.call(root, mp.create_policy_version, policy_arn=arn, policy_document=policy_text())
    world.call(root, mp.delete_policy_version, policy_arn=arn, version_id="v2")
    v6 = world.call(root, mp.create_policy_version, policy_arn=arn,
                    policy_document=policy_text())["PolicyVersion"]
    assert v6["VersionId"] == "v6"                   # numbers are never reused
    page = world.call(root, mp.list_policy_versions, policy_arn=arn, max_items=2)
    assert [v["VersionId"] for v in page["Versions"]] == ["v6", "v5"] and page["IsTruncated"]


def test_attachments(world, root):
    p = create(world, root)
    arn = p["Arn"]
    world.call(root, mp.attach_user_policy, user_name="bob", policy_arn=arn)
    world.call(root, mp.attach_user_policy, user_name="bob", policy_arn=arn)     # idempotent
    world.call(root, mp.attach_group_policy, group_name="devs", policy_arn=arn)
    assert world.call(root, mp.get_policy, policy_arn=arn)["Policy"]["AttachmentCount"] == 2
    attached = world.call(root, mp.list_attached_user_policies, user_name="bob")
    assert attached["AttachedPolicies"] == [{"PolicyName": "ec2-all", "PolicyArn": arn}]
    assert world.call(root, mp.list_attached_group_policies,
                      group_name="devs")["AttachedPolicies"][0]["PolicyArn"] == arn
    assert world.call(root, mp.list_attached_user_policies, user_name="carol",
                      )["AttachedPolicies"] == []
    ents = world.call(root, mp.list_entities_for_policy, policy_arn=arn)
    assert [u["UserName"] for u in ents["PolicyUsers"]] == ["bob"]
    assert [g["GroupName"] for g in ents["PolicyGroups"]] == ["devs"]
    only_users = world.call(root, mp.list_entities_for_policy, policy_arn=arn,
                            entity_filter="User")
    assert only_users["PolicyGroups"] == [] and len(only_users["PolicyUsers"]) == 1
    by_path = world.call(root, mp.list_entities_for_policy, policy_arn=arn, path_prefix="/eng/")
    assert [u["UserName"] for u in by_path["PolicyUsers"]] == ["bob"]
    assert by_path["PolicyGroups"] == []
    create(world, root, name="unused")
    assert [x["PolicyName"] for x in
            world.call(root, mp.list_policies, only_attached=True)["Policies"]] == ["ec2-all"]
    with pytest.raises(DeleteConflict):
        world.call(root, mp.delete_policy, policy_arn=arn)
    world.call(root, mp.detach_user_policy, user_name="bob", policy_arn=arn)
    with pytest.raises(NotFound):
        world.call(root, mp.detach_user_policy, user_name="bob", policy_arn=arn)
    world.call(root, mp.detach_group_policy, group_name="devs", policy_arn=arn)
    world.call(root, mp.delete_policy, policy_arn=arn)
    with pytest.raises(NotFound):
        world.call(root, mp.get_policy, policy_arn=arn)


def test_delete_policy_with_versions_conflicts(world, root):
    arn = create(world, root)["Arn"]
    world.call(root, mp.create_policy_version, policy_arn=arn, policy_document=policy_text())
    with pytest.raises(DeleteConflict):
        world.call(root, mp.delete_policy, policy_arn=arn)
    world.call(root, mp.delete_policy_version, policy_arn=arn, version_id="v2")
    world.call(root, mp.delete_policy, policy_arn=arn)


def test_attach_limit(world, root):
    arns = [create(world, root, name=f"p{i:02d}")["Arn"] for i in range(mp.POLICIES_PER_ENTITY + 1)]
    for arn in arns[:-1]:
        world.call(root, mp.attach_user_policy, user_name="carol", policy_arn=arn)
    with pytest.raises(LimitExceeded):
        world.call(root, mp.attach_user_policy, user_name="carol", policy_arn=arns[-1])


def test_policies_are_isolated_between_accounts(world, root):
    arn = create(world, root)["Arn"]
    other = world.account("beta")
    world.call(other, users.create_user, user_name="bob")
    assert world.call(other, mp.list_policies)["Policies"] == []
    for fn, kw in [(mp.get_policy, {}), (mp.delete_policy, {}),
                   (mp.list_policy_versions, {}), (mp.list_entities_for_policy, {}),
                   (mp.attach_user_policy, {"user_name": "bob"}),
                   (mp.create_policy_version, {"policy_document": policy_text()})]:
        with pytest.raises(NotFound):
            world.call(other, fn, policy_arn=arn, **kw)
    # the same name is free in the other account
    theirs = create(world, other)["Arn"]
    assert theirs != arn and other.account_id in theirs
