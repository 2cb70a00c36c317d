"""The bucket policy operations: Get/Put/DeleteBucketPolicy and GetBucketPolicyStatus.

Only callers of the bucket owner's account may read or change its policy (others get
AccessDenied even when a policy names them, as in S3); within the account the usual rules of
``access.authorize`` apply, except that the account's root can always repair a policy that
locks everyone out. A policy is stored as sent, after ``bucket_policy.validate``.
"""
from __future__ import annotations

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.schema import Account
from eucalyptus.errors import AccessDenied
from eucalyptus.services.s3 import bucket_policy
from eucalyptus.services.s3.access import authorize
from eucalyptus.services.s3.errors import s3_error
from eucalyptus.services.s3.buckets import load_bucket


def _own_bucket(ctx, name: str, action: str):
    row = load_bucket(ctx, name)
    if ctx.principal is None or ctx.principal.account_id != row.account_id:
        raise AccessDenied("Access Denied")
    authorize(ctx, action, row)
    return row


@operation
def get_bucket_policy(ctx, bucket: str, **_) -> dict:
    row = _own_bucket(ctx, bucket, "s3:GetBucketPolicy")
    if row.policy is None:
        raise s3_error("NoSuchBucketPolicy", "The bucket policy does not exist", 404,
                       BucketName=bucket)
    return {"Policy": row.policy}


@operation
def put_bucket_policy(ctx, bucket: str, policy: str | None = None, **_) -> dict:
    row = _own_bucket(ctx, bucket, "s3:PutBucketPolicy")
    if not policy or not policy.strip():
        raise bucket_policy.MalformedPolicy("Policies must be valid JSON and the first byte "
                                            "must be '{'")
    bucket_policy.validate(policy, bucket,
                           account_exists=lambda acct: ctx.db.get(Account, acct) is not None)
    row.policy = policy
    return {}


@operation
def delete_bucket_policy(ctx, bucket: str, **_) -> dict:
    row = _own_bucket(ctx, bucket, "s3:DeleteBucketPolicy")
    row.policy = None
    return {}


@operation
def get_bucket_policy_status(ctx, bucket: str, **_) -> dict:
    row = _own_bucket(ctx, bucket, "s3:GetBucketPolicyStatus")
    if row.policy is None:
        raise s3_error("NoSuchBucketPolicy", "The bucket policy does not exist", 404,
                       BucketName=bucket)
    return {"PolicyStatus": {"IsPublic": bucket_policy.is_public(row.policy)}}
