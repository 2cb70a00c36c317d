"""Bucket policies (validation, principals, conditions, public status) and the combined
decision with IAM policies and ACLs."""
from __future__ import annotations

import json

import pytest

from eucalyptus.services.s3 import acl as acls
from eucalyptus.services.s3.access_rules import AccessRequest, decide
from eucalyptus.services.s3.bucket_policy import (ANONYMOUS, Caller, MalformedPolicy,
                                                  evaluate, is_public, validate)
from eucalyptus.services.s3.canonical import Party, canonical_id

A, B = "111111111111", "222222222222"
BUCKET = "photos"
ARN = f"arn:aws:s3:::{BUCKET}"
ROOT_A = Caller(A, f"arn:aws:iam::{A}:root", is_root=True)
ALICE = Caller(A, f"arn:aws:iam::{A}:user/alice")
ROOT_B = Caller(B, f"arn:aws:iam::{B}:root", is_root=True)
BOB = Caller(B, f"arn:aws:iam::{B}:user/bob")
OWNER = Party(A, canonical_id(A), "acme")


def doc(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


def st(effect="Allow", principal="*", action="s3:GetObject", resource=f"{ARN}/*", **extra):
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource,
            **extra}


@pytest.mark.parametrize("text, message", [
    ("{nope", "This policy contains invalid Json"),
    (doc({"Effect": "Allow", "Action": "s3:*", "Resource": ARN}),
     "Missing required field Principal"),
    (doc(st(action="ec2:RunInstances")), "Policy has invalid action"),
    (doc(st(resource="arn:aws:s3:::other/*")), "Policy has invalid resource"),
    (doc(st(resource="*")), "Policy has invalid resource"),
    (doc(st(principal={"AWS": "999999999999"})), "Invalid principal in policy"),
    (doc(st(principal={"AWS": "arn:aws:iam::12:user/x"})), "Invalid principal in policy"),
    (doc(st(principal={"Service": "ec2.amazonaws.com"})), "Invalid principal in policy"),
    (doc(st(effect="Maybe")), "Invalid effect: Maybe"),
    (doc(st(Condition={"StringFrob": {"s3:prefix": "a"}})),
     "Invalid Condition type : StringFrob"),
    (json.dumps({"Statement": [st()], "Padding": "x" * 21000}),
     "Policy exceeds the maximum allowed document size."),
])
def test_validation_errors(text, message):
    with pytest.raises(MalformedPolicy) as info:
        validate(text, BUCKET, account_exists=lambda acct: acct in (A, B))
    assert info.value.code == "MalformedPolicy" and info.value.status == 400
    assert info.value.message == message


def test_valid_policy_parses():
    parsed = validate(doc(st(principal={"AWS": [B, f"arn:aws:iam::{A}:user/alice"]}),
                          st(principal={"CanonicalUser": canonical_id(B)}, action="s3:List*",
                             resource=ARN)), BUCKET, lambda acct: acct in (A, B))
    assert len(parsed["Statement"]) == 2


@pytest.mark.parametrize("principal, matches", [
    ("*", {ROOT_B, BOB, ANONYMOUS}),
    ({"AWS": "*"}, {ROOT_B, BOB, ANONYMOUS, ALICE}),
    ({"AWS": B}, {ROOT_B, BOB}),
    ({"AWS": f"arn:aws:iam::{B}:root"}, {ROOT_B, BOB}),
    ({"AWS": f"arn:aws:iam::{B}:user/bob"}, {BOB}),
    ({"CanonicalUser": canonical_id(B)}, {ROOT_B, BOB}),
])
def test_principal_matching(principal, matches):
    policy = doc(st(principal=principal))
    for caller in (ROOT_B, BOB, ANONYMOUS):
        expected = "Allow" if caller in matches else "ImplicitDeny"
        assert evaluate(policy, caller, "s3:GetObject", f"{ARN}/k") == expected


def test_not_principal_and_conditions():
    policy = doc({"Effect": "Deny", "NotPrincipal": {"AWS": A}, "Action": "s3:*",
                  "Resource": f"{ARN}/*"},
                 st(action="s3:ListBucket", resource=ARN,
                    Condition={"StringLike": {"s3:prefix": "public/*"},
                               "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert evaluate(policy, BOB, "s3:GetObject", f"{ARN}/k") == "Deny"
    assert evaluate(policy, ALICE, "s3:GetObject", f"{ARN}/k") == "ImplicitDeny"
    ok = {"s3:prefix": "public/x", "aws:SourceIp": "127.0.0.1"}
    assert evaluate(policy, ANONYMOUS, "s3:ListBucket", ARN, ok) == "Allow"
    assert evaluate(policy, ANONYMOUS, "s3:ListBucket", ARN,
                    dict(ok, **{"s3:prefix": "private/"})) == "ImplicitDeny"
    assert evaluate(policy, ANONYMOUS, "s3:ListBucket", ARN,
                    dict(ok, **{"aws:SourceIp": "10.0.0.1"})) == "ImplicitDeny"


def test_public_status():
    assert is_public(doc(st()))
    assert not is_public(doc(st(principal={"AWS": B})))
    assert not is_public(doc(st(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert not is_public(doc(st(effect="Deny")))
    assert not is_public(None)


def request(caller, action="s3:GetObject", *, acl=None, policy=None, iam="ImplicitDeny",
            owner=A, resource=f"{ARN}/k"):
    return AccessRequest(caller, action, resource, bucket_account=A, owner_account=owner,
                         acl=acl, policy=policy, iam=iam)


PRIVATE = acls.canned("private", OWNER)
PUBLIC = acls.canned("public-read", OWNER)


def test_owner_account():
    assert decide(request(ROOT_A, acl=PRIVATE)) == "Allow"
    assert decide(request(ALICE, acl=PRIVATE)) == "ImplicitDeny"       # needs IAM
    assert decide(request(ALICE, acl=PUBLIC)) == "ImplicitDeny"        # ACL is not enough
    assert decide(request(ALICE, acl=PRIVATE, iam="Allow")) == "Allow"
    user_policy = doc(st(principal={"AWS": ALICE.arn}))
    assert decide(request(ALICE, acl=PRIVATE, policy=user_policy)) == "Allow"
    deny = doc(st(effect="Deny", principal={"AWS": ALICE.arn}))
    assert decide(request(ALICE, acl=PRIVATE, iam="Allow", policy=deny)) == "Deny"
    assert decide(request(ALICE, acl=PRIVATE, iam="Deny", policy=user_policy)) == "Deny"


def test_other_account():
    assert decide(request(ROOT_B, acl=PRIVATE)) == "ImplicitDeny"
    assert decide(request(ROOT_B, acl=PUBLIC)) == "Allow"
    assert decide(request(BOB, acl=PUBLIC)) == "ImplicitDeny"          # its account must agree
    assert decide(request(BOB, acl=PUBLIC, iam="Allow")) == "Allow"
    assert decide(request(BOB, acl=PRIVATE, iam="Allow")) == "ImplicitDeny"  # bucket must agree
    allow_b = doc(st(principal={"AWS": B}))
    assert decide(request(ROOT_B, acl=PRIVATE, policy=allow_b)) == "Allow"
    assert decide(request(BOB, acl=PRIVATE, policy=allow_b, iam="Allow")) == "Allow"
    # an IAM allow for everything cannot reach another account's private object
    assert decide(request(BOB, acl=PRIVATE, iam="Allow", policy=doc(st(principal={"AWS": A}))))\
        == "ImplicitDeny"


def test_anonymous():
    assert decide(request(ANONYMOUS, acl=PRIVATE)) == "ImplicitDeny"
    assert decide(request(ANONYMOUS, acl=PUBLIC)) == "Allow"
    assert decide(request(ANONYMOUS, acl=PUBLIC, policy=doc(st(effect="Deny")))) == "Deny"
    assert decide(request(ANONYMOUS, acl=PRIVATE, policy=doc(st()))) == "Allow"
    authenticated = acls.canned("authenticated-read", OWNER)
    assert decide(request(ANONYMOUS, acl=authenticated)) == "ImplicitDeny"
    assert decide(request(ROOT_B, acl=authenticated)) == "Allow"
    # actions no ACL can grant
    assert decide(request(ANONYMOUS, "s3:PutBucketPolicy", acl=acls.canned(
        "public-read-write", OWNER), resource=ARN)) == "ImplicitDeny"


def test_object_of_another_account_and_policy_lockout():
    theirs = acls.canned("private", Party(B, canonical_id(B), "globex"))
    assert decide(request(ROOT_A, acl=theirs, owner=B)) == "ImplicitDeny"
    assert decide(request(ROOT_B, acl=theirs, owner=B)) == "Allow"
    lock = doc(st(effect="Deny", action="s3:*", resource=[ARN, f"{ARN}/*"]))
    assert decide(request(ROOT_A, "s3:GetObject", policy=lock)) == "Deny"
    assert decide(request(ROOT_A, "s3:DeleteBucketPolicy", policy=lock, resource=ARN)) == "Allow"
    # the cloud administrator's account is just another account here
    cloud_admin = Caller("333333333333", "arn:aws:iam::333333333333:root", True)
    assert decide(request(cloud_admin, acl=PRIVATE)) == "ImplicitDeny"


def test_condition_keys_from_the_request():
    from types import SimpleNamespace

    from multidict import CIMultiDict

    from eucalyptus.services.s3.access_control import condition_keys
    ctx = SimpleNamespace(scheme="http", principal=None, extra={
        "source_ip": "127.0.0.1", "query": [("prefix", "logs/"), ("max-keys", "5")],
        "headers": CIMultiDict({"user-agent": "s3cmd", "X-Amz-Acl": "public-read"})})
    keys = condition_keys(ctx)
    assert keys["aws:SourceIp"] == "127.0.0.1" and keys["aws:SecureTransport"] == "false"
    assert keys["s3:prefix"] == "logs/" and keys["s3:max-keys"] == "5"
    assert keys["aws:UserAgent"] == "s3cmd" and keys["s3:x-amz-acl"] == "public-read"
    assert "aws:username" not in keys
    policy = doc(st(action="s3:ListBucket", resource=ARN,
                    Condition={"StringLike": {"s3:prefix": "logs/*"},
                               "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert evaluate(policy, ANONYMOUS, "s3:ListBucket", ARN, keys) == "Allow"
