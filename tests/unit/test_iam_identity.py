"""identity.py: bootstrap, credentials_for, lookup_credentials and authorize."""
import json

import pytest

from eucalyptus.errors import AccessDenied, LimitExceeded, NotFound
from eucalyptus.services.iam import (access_keys, groups, identity, inline_policies,
                                     managed_policies as mp, users)
from eucalyptus.services.sts import tokens
from tests.unit.test_iam_support import policy_text


@pytest.fixture
def root(root, world):
    world.call(root, users.create_user, user_name="bob")
    return root


def authorize(world, principal, action, resource="*", context=None):
    with world.session() as s:
        identity.authorize(s, principal, action, resource, context)


def allowed(world, principal, action, resource="*", context=None) -> bool:
    try:
        authorize(world, principal, action, resource, context)
        return True
    except AccessDenied:
        return False


def test_bootstrap_is_idempotent(world):
    with world.session() as s:
        first = identity.bootstrap(s)
    with world.session() as s:
        again = identity.bootstrap(s)
    assert first == again
    account_id, key_id, secret = first
    assert len(account_id) == 12 and key_id.startswith("AKIA") and len(secret) == 40
    p = world.admin
    assert (p.account_name, p.user_name, p.is_root, p.is_cloud_admin) == \
        ("eucalyptus", "admin", True, True)
    assert p.arn == f"arn:aws:iam::{account_id}:root"


def test_bootstrap_makes_a_key_when_the_admin_has_none(world):
    with world.session() as s:
        first = identity.bootstrap(s)
    world.call(world.admin, access_keys.delete_access_key, access_key_id=first.access_key_id)
    with world.session() as s:
        second = identity.bootstrap(s)
    assert second.account_id == first.account_id
    assert second.access_key_id != first.access_key_id


def test_credentials_for(world, root):
    with world.session() as s:
        made = identity.credentials_for(s, "alpha", "bob")
    assert made.account_id == root.account_id
    assert made.user_arn == f"arn:aws:iam::{root.account_id}:user/bob"
    with world.session() as s:
        assert identity.credentials_for(s, "ALPHA", "Bob") == made         # reused, any case
        assert identity.lookup_credentials(s, made.access_key_id).secret == made.secret
    world.call(root, access_keys.update_access_key, user_name="bob",
               access_key_id=made.access_key_id, status="Inactive")
    with world.session() as s:
        fresh = identity.credentials_for(s, "alpha", "bob")
    assert fresh.access_key_id != made.access_key_id
    world.call(root, access_keys.update_access_key, user_name="bob",
               access_key_id=fresh.access_key_id, status="Inactive")
    with pytest.raises(LimitExceeded), world.session() as s:
        identity.credentials_for(s, "alpha", "bob")
    for account, user in (("nowhere", "bob"), ("alpha", "ghost")):
        with pytest.raises(NotFound), world.session() as s:
            identity.credentials_for(s, account, user)


def test_lookup_of_unknown_key(world):
    with world.session() as s:
        assert identity.lookup_credentials(s, "AKIANOSUCHKEY0000000") is None


def test_cloud_admin_may_do_anything(world, root):
    assert allowed(world, world.admin, "iam:CreateUser")
    assert allowed(world, world.admin, "ec2:TerminateInstances",
                   f"arn:aws:ec2:eucalyptus:{root.account_id}:instance/i-12345678")


def test_account_root_is_limited_to_its_account(world, root):
    assert allowed(world, root, "iam:DeleteUser", f"arn:aws:iam::{root.account_id}:user/bob")
    assert allowed(world, root, "ec2:RunInstances")
    other = world.account("beta")
    with pytest.raises(AccessDenied):
        authorize(world, root, "iam:DeleteUser", f"arn:aws:iam::{other.account_id}:user/x")


def test_plain_user_is_denied_by_default(world, root):
    bob = world.user("alpha", "bob")
    with pytest.raises(AccessDenied) as err:
        authorize(world, bob, "iam:ListUsers", f"arn:aws:iam::{root.account_id}:user/")
    assert err.value.code == "AccessDenied" and err.value.status == 403
    assert err.value.message == (f"User: arn:aws:iam::{root.account_id}:user/bob is not "
                                 "authorized to perform: iam:ListUsers on resource: "
                                 f"arn:aws:iam::{root.account_id}:user/")


def test_sts_identity_calls_need_no_permission(world, root):
    bob = world.user("alpha", "bob")
    assert allowed(world, bob, "sts:GetCallerIdentity")
    assert allowed(world, bob, "sts:GetSessionToken")
    assert not allowed(world, bob, "sts:AssumeRole")


def test_inline_user_policy_allows(world, root):
    bob = world.user("alpha", "bob")
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="p",
               policy_document=policy_text("ec2:Describe*"))
    assert allowed(world, bob, "ec2:DescribeInstances")
    assert not allowed(world, bob, "ec2:RunInstances")


def test_group_and_managed_policies_count_and_deny_wins(world, root):
    bob = world.user("alpha", "bob")
    world.call(root, groups.create_group, group_name="devs")
    world.call(root, groups.add_user_to_group, group_name="devs", user_name="bob")
    world.call(root, inline_policies.put_group_policy, group_name="devs", policy_name="p",
               policy_document=policy_text("s3:*"))
    assert allowed(world, bob, "s3:PutObject", "arn:aws:s3:::bucket/key")
    arn = world.call(root, mp.create_policy, policy_name="m",
                     policy_document=policy_text("ec2:*"))["Policy"]["Arn"]
    assert not allowed(world, bob, "ec2:RunInstances")
    world.call(root, mp.attach_user_policy, user_name="bob", policy_arn=arn)
    assert allowed(world, bob, "ec2:RunInstances")
    deny = world.call(root, mp.create_policy, policy_name="no-delete",
                      policy_document=policy_text("s3:Delete*", "Deny"))["Policy"]["Arn"]
    world.call(root, mp.attach_group_policy, group_name="devs", policy_arn=deny)
    with pytest.raises(AccessDenied) as err:
        authorize(world, bob, "s3:DeleteObject", "arn:aws:s3:::bucket/key")
    assert err.value.message.endswith("with an explicit deny")
    assert allowed(world, bob, "s3:GetObject", "arn:aws:s3:::bucket/key")
    # leaving the group drops its policies
    world.call(root, groups.remove_user_from_group, group_name="devs", user_name="bob")
    assert not allowed(world, bob, "s3:GetObject", "arn:aws:s3:::bucket/key")


def test_only_the_default_version_applies(world, root):
    bob = world.user("alpha", "bob")
    arn = world.call(root, mp.create_policy, policy_name="m",
                     policy_document=policy_text("ec2:*"))["Policy"]["Arn"]
    world.call(root, mp.attach_user_policy, user_name="bob", policy_arn=arn)
    world.call(root, mp.create_policy_version, policy_arn=arn,
               policy_document=policy_text("s3:*"))
    assert allowed(world, bob, "ec2:RunInstances") and not allowed(world, bob, "s3:ListBucket")
    world.call(root, mp.set_default_policy_version, policy_arn=arn, version_id="v2")
    assert not allowed(world, bob, "ec2:RunInstances") and allowed(world, bob, "s3:ListBucket")


def test_policy_variables_use_the_callers_name(world, root):
    world.call(root, users.create_user, user_name="carol")
    bob = world.user("alpha", "bob")
    own = f"arn:aws:iam::{root.account_id}:user/${{aws:username}}"
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="self",
               policy_document=policy_text("iam:*AccessKey*", resource=own))
    assert allowed(world, bob, "iam:CreateAccessKey", f"arn:aws:iam::{root.account_id}:user/bob")
    assert not allowed(world, bob, "iam:CreateAccessKey",
                       f"arn:aws:iam::{root.account_id}:user/carol")


def test_users_never_reach_other_accounts(world, root):
    bob = world.user("alpha", "bob")
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="all",
               policy_document=policy_text("*"))
    other = world.account("beta")
    assert allowed(world, bob, "iam:GetUser", f"arn:aws:iam::{root.account_id}:user/x")
    assert not allowed(world, bob, "iam:GetUser", f"arn:aws:iam::{other.account_id}:user/x")


def test_deleted_user_is_denied(world, root):
    bob = world.user("alpha", "bob")
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="all",
               policy_document=policy_text("*"))
    assert allowed(world, bob, "ec2:RunInstances")
    world.call(root, inline_policies.delete_user_policy, user_name="bob", policy_name="all")
    world.call(root, access_keys.delete_access_key, user_name="bob",
               access_key_id=bob.access_key_id)
    world.call(root, users.delete_user, user_name="bob")
    assert not allowed(world, bob, "ec2:RunInstances")


def test_temporary_credentials_act_as_their_user(world, root):
    bob = world.user("alpha", "bob")
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="p",
               policy_document=policy_text("ec2:Describe*"))
    creds = world.call(bob, tokens.get_session_token, service="sts")["Credentials"]
    temp = world.principal_of(creds["AccessKeyId"])
    assert temp.user_id == bob.user_id and temp.session_token == creds["SessionToken"]
    assert allowed(world, temp, "ec2:DescribeImages")
    assert not allowed(world, temp, "ec2:RunInstances")
    # conditions see the token
    world.call(root, inline_policies.put_user_policy, user_name="bob", policy_name="q",
               policy_document=json.dumps({"Statement": [{
                   "Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"Null": {"aws:TokenIssueTime": "false"}}}]}))
    assert not allowed(world, temp, "ec2:DescribeImages")
    assert allowed(world, bob, "ec2:DescribeImages")
