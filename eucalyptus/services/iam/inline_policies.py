"""Inline policies embedded in users and groups: Put/Get/List/Delete User- and GroupPolicy.

Documents are validated on Put (MalformedPolicyDocument), stored as sent and returned
URL-encoded as IAM returns them. Put replaces a policy of the same name. The total size of a
user's inline policies is limited to 2048 characters and a group's to 5120 (whitespace not
counted), as in IAM; exceeding it is LimitExceeded.
"""
from __future__ import annotations

from sqlalchemy import select

from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.schema import InlinePolicy
from eucalyptus.errors import LimitExceeded, NotFound
from eucalyptus.services.iam import names, policy
from eucalyptus.services.iam.entities import caller, encode_document, find_group, find_user
from eucalyptus.services.iam.paging import paginate

SIZE_LIMITS = {"user": 2048, "group": 5120}


def _owner(ctx: RequestContext, kind: str, name: str | None):
    account_id = caller(ctx).account_id
    if kind == "user":
        names.entity_name(name, "userName")
        return find_user(ctx.db, account_id, name)
    names.entity_name(name, "groupName")
    return find_group(ctx.db, account_id, name)


def _policies(ctx: RequestContext, kind: str, owner_id: str) -> list[InlinePolicy]:
    return list(ctx.db.scalars(select(InlinePolicy).where(InlinePolicy.owner_kind == kind,
                                                          InlinePolicy.owner_id == owner_id)))


def _find(ctx: RequestContext, kind: str, owner, policy_name: str | None) -> InlinePolicy:
    names.entity_name(policy_name, "policyName")
    for row in _policies(ctx, kind, owner.id):
        if row.name.lower() == policy_name.lower():
            return row
    raise NotFound(f"The {kind} policy with name {policy_name} cannot be found.")


def _put(ctx: RequestContext, kind: str, owner_name: str | None, policy_name: str | None,
         document: str | None) -> dict:
    owner = _owner(ctx, kind, owner_name)
    names.entity_name(policy_name, "policyName")
    policy.validate(document if document is not None else "")
    existing = _policies(ctx, kind, owner.id)
    current = next((p for p in existing if p.name.lower() == policy_name.lower()), None)
    total = policy.document_size(document) + sum(
        policy.document_size(p.document) for p in existing if p is not current)
    if total > SIZE_LIMITS[kind]:
        raise LimitExceeded(f"Maximum policy size of {SIZE_LIMITS[kind]} bytes exceeded for "
                            f"{kind} {owner.name}")
    if current is None:
        ctx.db.add(InlinePolicy(owner_kind=kind, owner_id=owner.id, name=policy_name,
                                document=document))
    else:
        current.document = document
    ctx.db.flush()
    return {}


def _get(ctx: RequestContext, kind: str, owner_name: str | None, policy_name: str | None) -> dict:
    owner = _owner(ctx, kind, owner_name)
    row = _find(ctx, kind, owner, policy_name)
    key = "UserName" if kind == "user" else "GroupName"
    return {key: owner.name, "PolicyName": row.name,
            "PolicyDocument": encode_document(row.document)}


def _list(ctx: RequestContext, kind: str, owner_name: str | None, marker: str | None,
          max_items: int | None) -> dict:
    owner = _owner(ctx, kind, owner_name)
    page, fields = paginate(_policies(ctx, kind, owner.id), lambda p: p.name.lower(), marker,
                            max_items)
    return {"PolicyNames": [p.name for p in page], **fields}


def _delete(ctx: RequestContext, kind: str, owner_name: str | None,
            policy_name: str | None) -> dict:
    owner = _owner(ctx, kind, owner_name)
    ctx.db.delete(_find(ctx, kind, owner, policy_name))
    ctx.db.flush()
    return {}


@operation
def put_user_policy(ctx: RequestContext, user_name: str | None = None,
                    policy_name: str | None = None, policy_document: str | None = None,
                    **_) -> dict:
    return _put(ctx, "user", user_name, policy_name, policy_document)


@operation
def get_user_policy(ctx: RequestContext, user_name: str | None = None,
                    policy_name: str | None = None, **_) -> dict:
    return _get(ctx, "user", user_name, policy_name)


@operation
def list_user_policies(ctx: RequestContext, user_name: str | None = None,
                       marker: str | None = None, max_items: int | None = None, **_) -> dict:
    return _list(ctx, "user", user_name, marker, max_items)


@operation
def delete_user_policy(ctx: RequestContext, user_name: str | None = None,
                       policy_name: str | None = None, **_) -> dict:
    return _delete(ctx, "user", user_name, policy_name)


@operation
def put_group_policy(ctx: RequestContext, group_name: str | None = None,
                     policy_name: str | None = None, policy_document: str | None = None,
                     **_) -> dict:
    return _put(ctx, "group", group_name, policy_name, policy_document)


@operation
def get_group_policy(ctx: RequestContext, group_name: str | None = None,
                     policy_name: str | None = None, **_) -> dict:
    return _get(ctx, "group", group_name, policy_name)


@operation
def list_group_policies(ctx: RequestContext, group_name: str | None = None,
                        marker: str | None = None, max_items: int | None = None, **_) -> dict:
    return _list(ctx, "group", group_name, marker, max_items)


@operation
def delete_group_policy(ctx: RequestContext, group_name: str | None = None,
                        policy_name: str | None = None, **_) -> dict:
    return _delete(ctx, "group", group_name, policy_name)
