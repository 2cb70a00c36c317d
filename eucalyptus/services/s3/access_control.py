"""The database side of S3 authorization: gathers what ``access_rules.decide`` weighs.

``check(ctx, action, bucket, obj=None)`` returns or raises ``AccessDenied("Access Denied")``.
``bucket`` is the ``Bucket`` row (None for account-level actions such as ``s3:CreateBucket``
and ``s3:ListAllMyBuckets``, which need an authenticated caller whose own policies allow them);
``obj`` is the ``ObjectVersion`` row, or a key (str) about to be written, or None.

It reads the caller's IAM policies (users only; an account's root needs none), the bucket's
policy and the ACL that decides the action (the object's for object-level permissions on an
existing object, else the bucket's), and builds the condition keys: ``aws:username``,
``aws:userid``, ``aws:PrincipalAccount``, ``aws:PrincipalArn``, ``aws:CurrentTime``,
``aws:EpochTime``, ``aws:SecureTransport``, ``aws:SourceIp``, ``aws:UserAgent``,
``aws:Referer`` and the request's ``s3:*`` keys (``s3:prefix``, ``s3:delimiter``,
``s3:max-keys``, ``s3:x-amz-acl``, ``s3:VersionId``) from what the front door puts in
``ctx.extra``: ``source_ip``, ``headers`` and ``query`` (decoded (name, value) pairs).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Iterator

from eucalyptus.errors import AccessDenied
from eucalyptus.services.iam import identity, policy
from eucalyptus.services.s3 import acl as acls
from eucalyptus.services.s3.access_rules import AccessRequest, decide
from eucalyptus.services.s3.bucket_policy import ANONYMOUS, Caller
from eucalyptus.services.s3.canonical import Party, canonical_id

ACCESS_DENIED = "Access Denied"


def _arn(bucket_name: str, key: str | None) -> str:
    return f"arn:aws:s3:::{bucket_name}" if key is None else f"arn:aws:s3:::{bucket_name}/{key}"


def condition_keys(ctx) -> dict[str, Any]:
    """The request's condition keys (see the module docstring)."""
    now = dt.datetime.now(dt.timezone.utc)
    keys: dict[str, Any] = {"aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "aws:EpochTime": str(int(now.timestamp())),
                            "aws:SecureTransport": "true" if ctx.scheme == "https" else "false"}
    extra = ctx.extra or {}
    if extra.get("source_ip"):
        keys["aws:SourceIp"] = extra["source_ip"]
    headers = extra.get("headers") or {}
    for header, key in (("User-Agent", "aws:UserAgent"), ("Referer", "aws:Referer")):
        if headers.get(header):
            keys[key] = headers[header]
    if headers.get("x-amz-acl"):
        keys["s3:x-amz-acl"] = headers["x-amz-acl"]
    query = dict(extra.get("query") or ())
    for name in ("prefix", "delimiter", "max-keys"):
        if name in query:
            keys[f"s3:{name}"] = query[name]
    if "versionId" in query:
        keys["s3:VersionId"] = query["versionId"]
    principal = ctx.principal
    if principal is not None:
        keys.update({"aws:username": principal.user_name, "aws:userid": principal.user_id,
                     "aws:PrincipalAccount": principal.account_id,
                     "aws:PrincipalArn": principal.arn, "aws:PrincipalType": "User"})
    return keys


class _ConditionKeys(Mapping):
    """``condition_keys(ctx)``, built on first use: most requests meet no policy that reads
    them (an account's root acting in its own buckets, a bucket without a policy)."""
    __slots__ = ("_ctx", "_keys")

    def __init__(self, ctx):
        self._ctx, self._keys = ctx, None

    def _built(self) -> dict[str, Any]:
        if self._keys is None:
            self._keys = condition_keys(self._ctx)
        return self._keys

    def __getitem__(self, name: str) -> Any:
        return self._built()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def iam_decision(ctx, action: str, resource: str, keys: Mapping[str, Any]) -> policy.Decision:
    """What the caller's own account says: Allow for its root, else its users' policies."""
    principal = ctx.principal
    if principal is None:
        return "ImplicitDeny"
    if principal.is_root:
        return "Allow"
    return policy.evaluate(identity.policies_of(ctx.db, principal.user_id), action, resource,
                           keys)


def _owner(account_id: str) -> Party:
    return Party(account_id, canonical_id(account_id), "")


def check(ctx, action: str, bucket: Any | None, obj: Any = None) -> None:
    """Allow or refuse the caller of ``ctx`` doing ``action`` (see the module docstring)."""
    principal = ctx.principal
    keys = _ConditionKeys(ctx)
    if bucket is None:
        resource = "*" if obj is None else f"arn:aws:s3:::{obj}"
        if principal is None or iam_decision(ctx, action, resource, keys) != "Allow":
            raise AccessDenied(ACCESS_DENIED)
        return
    row = obj if obj is not None and not isinstance(obj, str) else None
    key = obj if isinstance(obj, str) else (row.key if row is not None else None)
    resource = _arn(bucket.name, key)
    level = acls.ACTION_PERMISSIONS.get(action.lower(), ("bucket", ""))[0]
    if level == "object" and row is not None:
        owner_account, acl_text = row.account_id, row.acl
    else:
        owner_account, acl_text = bucket.account_id, bucket.acl
    caller = ANONYMOUS if principal is None else Caller(principal.account_id, principal.arn,
                                                        principal.is_root)
    request = AccessRequest(
        caller=caller, action=action, resource=resource, bucket_account=bucket.account_id,
        owner_account=owner_account, acl=acls.Acl.from_json(acl_text, _owner(owner_account)),
        policy=bucket.policy, iam=iam_decision(ctx, action, resource, keys), context=keys)
    if decide(request) != "Allow":
        raise AccessDenied(ACCESS_DENIED)
