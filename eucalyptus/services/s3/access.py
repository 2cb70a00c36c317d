"""Who may do what to a bucket or object: the one authorization function every handler calls.

``authorize(ctx, action, bucket, obj=None)`` returns or raises ``AccessDenied``:

* an explicit Deny in the bucket policy or the caller's IAM policies wins;
* anonymous callers (``ctx.principal is None``) need an ACL grant to AllUsers or a
  bucket-policy Allow for Principal "*";
* the root of the owner's account is allowed (the cloud administrator's account is no
  exception: other accounts' buckets are theirs alone unless they grant access);
* IAM users of the owner's account need an Allow from their policies (with
  ``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key``) or from the bucket policy;
* callers from other accounts need their own account's consent (root, or an IAM Allow) and
  the bucket's: an ACL grant or a bucket-policy Allow.

``bucket`` is the ``Bucket`` row (None for account-level actions such as ``s3:ListAllMyBuckets``
and ``s3:CreateBucket``, judged on the caller's own policies); ``obj`` the ``ObjectVersion``
row when there is one, else the key as a string (a key about to be written).
"""
from __future__ import annotations

from typing import Any


ACCESS_DENIED = "Access Denied"


def resource_arn(bucket: Any, obj: Any = None) -> str:
    if bucket is None:
        return "*" if obj is None else f"arn:aws:s3:::{obj}"
    name = bucket if isinstance(bucket, str) else bucket.name
    if obj is None:
        return f"arn:aws:s3:::{name}"
    key = obj if isinstance(obj, str) else obj.key
    return f"arn:aws:s3:::{name}/{key}"


def authorize(ctx, action: str, bucket: Any | None, obj: Any = None) -> None:
    """Allow or refuse ``ctx.principal`` doing ``action``: ACL grants, the bucket policy and
    the caller's IAM policies weighed together (``access_control.check``; the rules are in
    ``access_rules``)."""
    from eucalyptus.services.s3 import access_control

    access_control.check(ctx, action, bucket, obj)


def initial_acl(ctx, owner_account_id: str, params: dict, bucket: Any = None) -> str | None:
    """The ``acl`` column of a new bucket, object or upload from the request's ``x-amz-acl``
    and ``x-amz-grant-*`` parameters (``params`` as the handler received them). None means
    the default: private to the owner. ``bucket`` (the row an object goes into) names the
    bucket owner for ``bucket-owner-read`` / ``bucket-owner-full-control``."""
    from eucalyptus.services.s3 import grants

    return grants.initial_acl(ctx, owner_account_id, params, bucket)
