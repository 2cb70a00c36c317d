"""How S3 combines IAM policies, the bucket policy and ACLs into one decision (pure logic).

``decide(request)`` returns ``"Allow"``, ``"Deny"`` (an explicit deny somewhere) or
``"ImplicitDeny"`` for one ``AccessRequest``:

1. the root of the bucket's account may always read, replace or delete the bucket policy (so
   no policy can lock its owner out);
2. an explicit Deny in the bucket policy or in the caller's IAM policies wins;
3. an anonymous caller needs an Allow from the bucket policy (Principal ``"*"``) or an ACL
   grant to AllUsers;
4. a caller of the account that owns the resource: its root may; its users need an IAM Allow
   or a bucket-policy Allow naming them (ACL grants to their own account do not stand in for
   the account's policies);
5. a caller of another account needs both sides: its own account's consent (root, or an IAM
   Allow for a user) and the resource's (a bucket-policy Allow or an ACL grant).

The cloud administrator's account is no exception: tenants' buckets are theirs alone unless
they grant access (``aws-exec-read`` grants it READ for image bundles).

The owner of the resource is the bucket's account for bucket-level actions and the object's
account for actions on an existing object (an object another account uploaded stays its
uploader's until it grants otherwise).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eucalyptus.services.iam.policy import Decision
from eucalyptus.services.s3 import acl as acls
from eucalyptus.services.s3 import bucket_policy
from eucalyptus.services.s3.bucket_policy import Caller

POLICY_ACTIONS = frozenset({"s3:getbucketpolicy", "s3:putbucketpolicy", "s3:deletebucketpolicy"})


@dataclass
class AccessRequest:
    caller: Caller
    action: str                        # IAM action, e.g. "s3:GetObject"
    resource: str                      # arn:aws:s3:::bucket or arn:aws:s3:::bucket/key
    bucket_account: str                # account owning the bucket
    owner_account: str                 # account owning the resource (see module docstring)
    acl: acls.Acl | None = None        # the ACL that decides this action (bucket or object)
    policy: Any = None                 # the bucket policy (parsed or text), None when unset
    iam: Decision = "ImplicitDeny"     # the caller's own IAM policies on this request
    context: Mapping[str, Any] = field(default_factory=dict)


def acl_grants(request: AccessRequest) -> bool:
    """Whether the deciding ACL gives the caller the permission this action needs."""
    needed = acls.ACTION_PERMISSIONS.get(request.action.lower())
    if needed is None or request.acl is None:
        return False
    caller = request.caller
    held = acls.permissions(request.acl, None if caller.anonymous else caller.canonical_id,
                            authenticated=not caller.anonymous)
    return needed[1] in held


def decide(request: AccessRequest) -> Decision:
    """The decision on ``request``, following the module docstring's rules in order."""
    caller = request.caller
    if (caller.is_root and caller.account_id == request.bucket_account
            and request.action.lower() in POLICY_ACTIONS):
        return "Allow"
    from_policy = bucket_policy.evaluate(request.policy, caller, request.action,
                                         request.resource, request.context)
    if from_policy == "Deny" or (not caller.anonymous and request.iam == "Deny"):
        return "Deny"
    resource_side = from_policy == "Allow" or acl_grants(request)
    if caller.anonymous:
        return "Allow" if resource_side else "ImplicitDeny"
    if caller.account_id == request.owner_account:
        if caller.is_root or request.iam == "Allow" or from_policy == "Allow":
            return "Allow"
        return "ImplicitDeny"
    caller_side = caller.is_root or request.iam == "Allow"
    return "Allow" if caller_side and resource_side else "ImplicitDeny"
