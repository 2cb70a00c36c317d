"""Inline user and group policies."""
import json
from urllib.parse import unquote

import pytest

from eucalyptus.errors import LimitExceeded, NotFound
from eucalyptus.services.iam import groups, inline_policies, users
from eucalyptus.services.iam.policy import MalformedPolicyDocument

DOC = {"Version": "2012-10-17",
       "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
TEXT = json.dumps(DOC, indent=2)


@pytest.fixture
def root(root, world):
    world.call(root, users.create_user, user_name="bob")
    world.call(root, groups.create_group, group_name="devs")
    return root


@pytest.mark.parametrize("kind", ["user", "group"])
def test_put_get_list_delete(world, root, kind):
    put, get, lst, delete = (getattr(inline_policies, f"{verb}_{kind}_polic{tail}")
                             for verb, tail in [("put", "y"), ("get", "y"), ("list", "ies"),
                                                ("delete", "y")])
    owner = {"user_name": "bob"} if kind == "user" else {"group_name": "devs"}
    world.call(root, put, policy_name="read", policy_document=TEXT, **owner)
    world.call(root, put, policy_name="more", policy_document=TEXT, **owner)
    got = world.call(root, get, policy_name="READ", **owner)
    assert got["PolicyName"] == "read"
    assert got["PolicyDocument"] != TEXT                       # URL-encoded on the wire
    assert unquote(got["PolicyDocument"]) == TEXT             # and stored exactly as sent
    assert json.loads(unquote(got["PolicyDocument"])) == DOC
    assert world.call(root, lst, **owner)["PolicyNames"] == ["more", "read"]
    page = world.call(root, lst, max_items=1, **owner)
    assert page["PolicyNames"] == ["more"] and page["IsTruncated"]
    # put replaces a policy of the same name
    changed = json.dumps({**DOC, "Statement": [{**DOC["Statement"][0], "Effect": "Deny"}]})
    world.call(root, put, policy_name="read", policy_document=changed, **owner)
    assert unquote(world.call(root, get, policy_name="read", **owner)["PolicyDocument"]) == changed
    world.call(root, delete, policy_name="read", **owner)
    with pytest.raises(NotFound):
        world.call(root, get, policy_name="read", **owner)
    with pytest.raises(NotFound):
        world.call(root, delete, policy_name="read", **owner)
    assert world.call(root, lst, **owner)["PolicyNames"] == ["more"]


@pytest.mark.parametrize("document", [
    "{not json", json.dumps({"Version": "2012-10-17"}),
    json.dumps({"Statement": [{"Action": "ec2:*", "Resource": "*"}]}),
])
def test_malformed_documents_are_refused(world, root, document):
    with pytest.raises(MalformedPolicyDocument) as err:
        world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="p",
                   policy_document=document)
    assert (err.value.code, err.value.status) == ("MalformedPolicyDocument", 400)
    assert world.call(root, inline_policies.list_user_policies,
                      user_name="bob")["PolicyNames"] == []


def test_user_inline_size_limit(world, root):
    def big(n):
        actions = [f"ec2:Describe{i:04d}" for i in range(n)]
        return json.dumps({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="a",
               policy_document=big(60))
    with pytest.raises(LimitExceeded):
        world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="b",
                   policy_document=big(60))
    # replacing the same policy is measured without its old text
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="a",
               policy_document=big(75))


def test_missing_owner_and_other_accounts(world, root):
    with pytest.raises(NotFound):
        world.call(root, inline_policies.put_user_policy, user_name="ghost", policy_name="p",
                   policy_document=TEXT)
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="p",
               policy_document=TEXT)
    other = world.account("beta")
    with pytest.raises(NotFound):
        world.call(other, inline_policies.get_user_policy, user_name="bob", policy_name="p")
    with pytest.raises(NotFound):
        world.call(other, inline_policies.list_group_policies, group_name="devs")
