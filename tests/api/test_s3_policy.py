"""Bucket policies end to end, weighed with IAM user policies and ACLs."""
from __future__ import annotations

import json

from tests.api.test_s3_acl import anonymous, can, code_of, tenants, unique  # noqa: F401

ALLOW_ALL_S3 = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_policy_lifecycle_and_validation(tenants):
    owner, other = tenants
    s3 = owner.s3()
    bucket = unique("pol")
    s3.create_bucket(Bucket=bucket)
    assert code_of(s3.get_bucket_policy, Bucket=bucket) == "NoSuchBucketPolicy"
    bad = {
        "{not json": "MalformedPolicy",
        policy({"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*"}): "MalformedPolicy",       # no Principal
        policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::someone-else/*"}): "MalformedPolicy",
        policy({"Effect": "Allow", "Principal": {"AWS": "999999999999"},
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}):
            "MalformedPolicy",
    }
    for text, code in bad.items():
        assert code_of(s3.put_bucket_policy, Bucket=bucket, Policy=text) == code
    text = policy({"Effect": "Allow", "Principal": {"AWS": other.account_id},
                   "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(text)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    # only the owner's account reads or changes a bucket's policy
    theirs = other.s3()
    assert code_of(theirs.get_bucket_policy, Bucket=bucket) == "AccessDenied"
    assert code_of(theirs.delete_bucket_policy, Bucket=bucket) == "AccessDenied"
    s3.delete_bucket_policy(Bucket=bucket)
    assert code_of(s3.get_bucket_policy, Bucket=bucket) == "NoSuchBucketPolicy"


def test_policy_grants_other_account(tenants):
    owner, other = tenants
    s3, theirs = owner.s3(), other.s3()
    bucket = unique("share")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b")
    s3.put_object(Bucket=bucket, Key="secret/plan", Body=b"x")
    assert not can(theirs.get_object, Bucket=bucket, Key="report.csv")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other.account_id}:root"},
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/secret/*"}))
    assert theirs.get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"a,b"
    assert len(theirs.list_objects_v2(Bucket=bucket)["Contents"]) == 2
    assert not can(theirs.get_object, Bucket=bucket, Key="secret/plan")
    assert not can(s3.get_object, Bucket=bucket, Key="secret/plan")   # deny binds the owner
    assert not can(theirs.put_object, Bucket=bucket, Key="new", Body=b"")
    # a user of the other account also needs its own account's permission
    bare = other.user(unique("bare"))
    assert not can(bare.get_object, Bucket=bucket, Key="report.csv")
    allowed = other.user(unique("reader"), ALLOW_ALL_S3)
    assert allowed.get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"a,b"
    # the owner's root can always repair a policy that locks it out
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="secret/plan")["Body"].read() == b"x"


def test_anonymous_read_policy(cloud, tenants):
    owner, _ = tenants
    s3 = owner.s3()
    bucket = unique("www")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/index.html", Body=b"<h1>hi</h1>")
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"no")
    assert anonymous(cloud, "GET", f"{bucket}/public/index.html")[0] == 403
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/public/*"}))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    assert anonymous(cloud, "GET", f"{bucket}/public/index.html") == (200, b"<h1>hi</h1>")
    assert anonymous(cloud, "GET", f"{bucket}/private.txt")[0] == 403
    assert anonymous(cloud, "GET", bucket)[0] == 403
    assert anonymous(cloud, "PUT", f"{bucket}/public/new", b"x")[0] == 403


def test_policy_denies_owner_user_despite_iam_allow(tenants):
    owner, _ = tenants
    s3 = owner.s3()
    bucket = unique("guard")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    name = unique("mallory")
    mallory = owner.user(name, ALLOW_ALL_S3)
    carol = owner.user(unique("carol"))             # no IAM policy at all
    assert mallory.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert not can(carol.get_object, Bucket=bucket, Key="k")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{owner.account_id}:user/{name}"},
         "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]},
        {"Effect": "Allow", "Principal": {"AWS": owner.account_id}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    assert not can(mallory.get_object, Bucket=bucket, Key="k")
    assert not can(mallory.put_object, Bucket=bucket, Key="k2", Body=b"")
    # a bucket-policy allow stands in for IAM within the owner's account
    assert carol.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert not can(carol.put_object, Bucket=bucket, Key="k2", Body=b"")
    assert code_of(mallory.get_bucket_policy, Bucket=bucket) == "AccessDenied"
