"""Customer managed policies, their versions and their attachments to users and groups.

A policy is named by its ARN ``arn:aws:iam::<account>:policy<path><name>``; an ARN of another
account (or of AWS managed policies, which this cloud does not carry) is NoSuchEntity. A policy
keeps up to five versions ``v1``, ``v2``, ...; one is the default, which cannot be deleted on
its own. DeletePolicy is refused while the policy is attached or has non-default versions.
Users and groups take at most ten attached policies each.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy import delete, select

from eucalyptus import ids
from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.schema import Group, ManagedPolicy, PolicyAttachment, PolicyVersion, User, utcnow
from eucalyptus.errors import (DeleteConflict, EntityAlreadyExists, LimitExceeded, NotFound,
                               ValidationError)
from eucalyptus.services.iam import names, policy
from eucalyptus.services.iam.entities import (caller, encode_document, find_group, find_named,
                                              find_user, policy_arn, utc)
from eucalyptus.services.iam.paging import paginate
from eucalyptus.services.iam.users import reject_unsupported

MAX_VERSIONS = 5
POLICIES_PER_ENTITY = 10
MAX_DOCUMENT_SIZE = 6144
_ARN = re.compile(r"arn:aws:iam::(\d{12}|aws):policy(/|/[\x21-\x7e]*/)([\w+=,.@-]+)")
_VERSION_ID = re.compile(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?")


def _arn(p: ManagedPolicy) -> str:
    return policy_arn(p.account_id, p.path, p.name)


def _check_document(document: str | None) -> str:
    policy.validate(document if document is not None else "")
    if policy.document_size(document) > MAX_DOCUMENT_SIZE:
        raise LimitExceeded(f"Cannot exceed quota for PolicySize: {MAX_DOCUMENT_SIZE}")
    return document


def find_policy(ctx: RequestContext, arn: str | None) -> ManagedPolicy:
    """The caller's account's policy with ARN ``arn``; ValidationError for a malformed ARN."""
    m = _ARN.fullmatch(arn or "")
    if m is None:
        raise ValidationError(f"ARN {arn} is not valid.")
    account, path, name = m.groups()
    found = None
    if account == caller(ctx).account_id:
        found = find_named(ctx.db, ManagedPolicy, account, name)
    if found is None or found.path != path:
        raise NotFound(f"Policy {arn} does not exist or is not attachable.")
    return found


def _attachments(ctx: RequestContext, policy_id: str) -> list[PolicyAttachment]:
    return list(ctx.db.scalars(select(PolicyAttachment)
                               .where(PolicyAttachment.policy_id == policy_id)))


def _policy_shape(ctx: RequestContext, p: ManagedPolicy) -> dict:
    return {"PolicyName": p.name, "PolicyId": p.id, "Arn": _arn(p), "Path": p.path,
            "DefaultVersionId": p.default_version,
            "AttachmentCount": len(_attachments(ctx, p.id)),
            "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
            "Description": p.description, "CreateDate": utc(p.created_at),
            "UpdateDate": utc(p.updated_at)}


def _version_shape(p: ManagedPolicy, v: PolicyVersion) -> dict:
    return {"Document": encode_document(v.document), "VersionId": v.version_id,
            "IsDefaultVersion": v.version_id == p.default_version,
            "CreateDate": utc(v.created_at)}


def _versions(ctx: RequestContext, policy_id: str) -> list[PolicyVersion]:
    return list(ctx.db.scalars(select(PolicyVersion).where(PolicyVersion.policy_id == policy_id)))


def _find_version(ctx: RequestContext, p: ManagedPolicy, version_id: str | None) -> PolicyVersion:
    if not _VERSION_ID.fullmatch(version_id or ""):
        raise ValidationError(f"1 validation error detected: Value '{version_id}' at 'versionId' "
                              "failed to satisfy constraint: Member must satisfy regular "
                              r"expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?")
    v = ctx.db.get(PolicyVersion, (p.id, version_id))
    if v is None:
        raise NotFound(f"Policy {_arn(p)} version {version_id} does not exist or is not "
                       "attachable.")
    return v


@operation
def create_policy(ctx: RequestContext, policy_name: str | None = None, path: str | None = None,
                  policy_document: str | None = None, description: str | None = None,
                  tags: list | None = None, **_) -> dict:
    account_id = caller(ctx).account_id
    names.entity_name(policy_name, "policyName")
    path = names.path(path, "path")
    reject_unsupported(tags)
    document = _check_document(policy_document)
    if find_named(ctx.db, ManagedPolicy, account_id, policy_name) is not None:
        raise EntityAlreadyExists(f"A policy called {policy_name} already exists. Duplicate "
                                  "names are not allowed.")
    p = ManagedPolicy(id=ids.iam_id("policy"), account_id=account_id, name=policy_name,
                      path=path, description=description or "", default_version="v1",
                      next_version=2)
    ctx.db.add(p)
    ctx.db.flush()
    ctx.db.add(PolicyVersion(policy_id=p.id, version_id="v1", document=document))
    ctx.db.flush()
    return {"Policy": _policy_shape(ctx, p)}


@operation
def get_policy(ctx: RequestContext, policy_arn: str | None = None, **_) -> dict:
    return {"Policy": _policy_shape(ctx, find_policy(ctx, policy_arn))}


@operation
def list_policies(ctx: RequestContext, scope: str | None = None, only_attached: bool = False,
                  path_prefix: str | None = None, policy_usage_filter: str | None = None,
                  marker: str | None = None, max_items: int | None = None, **_) -> dict:
    if scope not in (None, "All", "AWS", "Local"):
        raise ValidationError(f"1 validation error detected: Value '{scope}' at 'scope' failed "
                              "to satisfy constraint: Member must satisfy enum value set: "
                              "[All, AWS, Local]")
    prefix = names.path_prefix(path_prefix)
    rows: list[ManagedPolicy] = []
    if scope != "AWS" and policy_usage_filter != "PermissionsBoundary":
        rows = list(ctx.db.scalars(select(ManagedPolicy)
                                   .where(ManagedPolicy.account_id == caller(ctx).account_id)))
    rows = [p for p in rows if p.path.startswith(prefix)]
    if only_attached is True or str(only_attached).lower() == "true":
        rows = [p for p in rows if _attachments(ctx, p.id)]
    page, fields = paginate(rows, lambda p: p.name.lower(), marker, max_items)
    return {"Policies": [_policy_shape(ctx, p) for p in page], **fields}


@operation
def delete_policy(ctx: RequestContext, policy_arn: str | None = None, **_) -> dict:
    p = find_policy(ctx, policy_arn)
    if _attachments(ctx, p.id):
        raise DeleteConflict("Cannot delete a policy attached to entities.")
    if len(_versions(ctx, p.id)) > 1:
        raise DeleteConflict("This policy has more than one version. Before you delete a "
                             "policy, you must delete the policy's versions. The default "
                             "version is deleted with the policy.")
    ctx.db.execute(delete(PolicyVersion).where(PolicyVersion.policy_id == p.id))
    ctx.db.delete(p)
    ctx.db.flush()
    return {}


@operation
def create_policy_version(ctx: RequestContext, policy_arn: str | None = None,
                          policy_document: str | None = None,
                          set_as_default: bool | None = None, **_) -> dict:
    p = find_policy(ctx, policy_arn)
    document = _check_document(policy_document)
    if len(_versions(ctx, p.id)) >= MAX_VERSIONS:
        raise LimitExceeded(f"A managed policy can have up to {MAX_VERSIONS} versions. Before "
                            "you create a new version, you must delete an existing version.")
    v = PolicyVersion(policy_id=p.id, version_id=f"v{p.next_version}", document=document)
    p.next_version += 1
    if set_as_default is True or str(set_as_default).lower() == "true":
        p.default_version = v.version_id
    p.updated_at = utcnow()
    ctx.db.add(v)
    ctx.db.flush()
    return {"PolicyVersion": _version_shape(p, v)}


@operation
def get_policy_version(ctx: RequestContext, policy_arn: str | None = None,
                       version_id: str | None = None, **_) -> dict:
    p = find_policy(ctx, policy_arn)
    return {"PolicyVersion": _version_shape(p, _find_version(ctx, p, version_id))}


def _version_number(v: PolicyVersion) -> int:
    return int(re.match(r"v(\d+)", v.version_id).group(1))


@operation
def list_policy_versions(ctx: RequestContext, policy_arn: str | None = None,
                         marker: str | None = None, max_items: int | None = None, **_) -> dict:
    p = find_policy(ctx, policy_arn)
    # newest first: key counts down as the version number goes up
    page, fields = paginate(_versions(ctx, p.id), lambda v: f"{10**9 - _version_number(v):010d}",
                            marker, max_items)
    return {"Versions": [_version_shape(p, v) for v in page], **fields}


@operation
def set_default_policy_version(ctx: RequestContext, policy_arn: str | None = None,
                               version_id: str | None = None, **_) -> dict:
    p = find_policy(ctx, policy_arn)
    p.default_version = _find_version(ctx, p, version_id).version_id
    p.updated_at = utcnow()
    ctx.db.flush()
    return {}


@operation
def delete_policy_version(ctx: RequestContext, policy_arn: str | None = None,
                          version_id: str | None = None, **_) -> dict:
    p = find_policy(ctx, policy_arn)
    v = _find_version(ctx, p, version_id)
    if v.version_id == p.default_version:
        raise DeleteConflict("Cannot delete the default version of a policy.")
    ctx.db.delete(v)
    ctx.db.flush()
    return {}


def _attach(ctx: RequestContext, kind: str, owner_id: str, arn: str | None) -> dict:
    p = find_policy(ctx, arn)
    if ctx.db.get(PolicyAttachment, (p.id, kind, owner_id)) is not None:
        return {}
    count = ctx.db.scalar(select(sa.func.count()).select_from(PolicyAttachment).where(
        PolicyAttachment.owner_kind == kind, PolicyAttachment.owner_id == owner_id))
    if count >= POLICIES_PER_ENTITY:
        quota = "PoliciesPerUser" if kind == "user" else "PoliciesPerGroup"
        raise LimitExceeded(f"Cannot exceed quota for {quota}: {POLICIES_PER_ENTITY}")
    ctx.db.add(PolicyAttachment(policy_id=p.id, owner_kind=kind, owner_id=owner_id))
    ctx.db.flush()
    return {}


def _detach(ctx: RequestContext, kind: str, owner_id: str, arn: str | None) -> dict:
    p = find_policy(ctx, arn)
    row = ctx.db.get(PolicyAttachment, (p.id, kind, owner_id))
    if row is None:
        raise NotFound(f"Policy {arn} was not found.")
    ctx.db.delete(row)
    ctx.db.flush()
    return {}


def _list_attached(ctx: RequestContext, kind: str, owner_id: str, path_prefix: str | None,
                   marker: str | None, max_items: int | None) -> dict:
    prefix = names.path_prefix(path_prefix)
    rows = ctx.db.scalars(select(ManagedPolicy).join(
        PolicyAttachment, PolicyAttachment.policy_id == ManagedPolicy.id).where(
        PolicyAttachment.owner_kind == kind, PolicyAttachment.owner_id == owner_id)).all()
    rows = [p for p in rows if p.path.startswith(prefix)]
    page, fields = paginate(rows, lambda p: p.name.lower(), marker, max_items)
    return {"AttachedPolicies": [{"PolicyName": p.name, "PolicyArn": _arn(p)} for p in page],
            **fields}


def _user(ctx: RequestContext, name: str | None) -> User:
    names.entity_name(name, "userName")
    return find_user(ctx.db, caller(ctx).account_id, name)


def _group(ctx: RequestContext, name: str | None) -> Group:
    names.entity_name(name, "groupName")
    return find_group(ctx.db, caller(ctx).account_id, name)


@operation
def attach_user_policy(ctx: RequestContext, user_name: str | None = None,
                       policy_arn: str | None = None, **_) -> dict:
    return _attach(ctx, "user", _user(ctx, user_name).id, policy_arn)


@operation
def detach_user_policy(ctx: RequestContext, user_name: str | None = None,
                       policy_arn: str | None = None, **_) -> dict:
    return _detach(ctx, "user", _user(ctx, user_name).id, policy_arn)


@operation
def attach_group_policy(ctx: RequestContext, group_name: str | None = None,
                        policy_arn: str | None = None, **_) -> dict:
    return _attach(ctx, "group", _group(ctx, group_name).id, policy_arn)


@operation
def detach_group_policy(ctx: RequestContext, group_name: str | None = None,
                        policy_arn: str | None = None, **_) -> dict:
    return _detach(ctx, "group", _group(ctx, group_name).id, policy_arn)


@operation
def list_attached_user_policies(ctx: RequestContext, user_name: str | None = None,
                                path_prefix: str | None = None, marker: str | None = None,
                                max_items: int | None = None, **_) -> dict:
    return _list_attached(ctx, "user", _user(ctx, user_name).id, path_prefix, marker, max_items)


@operation
def list_attached_group_policies(ctx: RequestContext, group_name: str | None = None,
                                 path_prefix: str | None = None, marker: str | None = None,
                                 max_items: int | None = None, **_) -> dict:
    return _list_attached(ctx, "group", _group(ctx, group_name).id, path_prefix, marker,
                          max_items)


@operation
def list_entities_for_policy(ctx: RequestContext, policy_arn: str | None = None,
                             entity_filter: str | None = None, path_prefix: str | None = None,
                             policy_usage_filter: str | None = None, marker: str | None = None,
                             max_items: int | None = None, **_) -> dict:
    p = find_policy(ctx, policy_arn)
    prefix = names.path_prefix(path_prefix)
    entities: list[tuple[str, User | Group]] = []
    if policy_usage_filter != "PermissionsBoundary":
        for a in _attachments(ctx, p.id):
            row = ctx.db.get(User if a.owner_kind == "user" else Group, a.owner_id)
            if row is None or not row.path.startswith(prefix):
                continue
            if entity_filter in (None, "User" if a.owner_kind == "user" else "Group"):
                entities.append((a.owner_kind, row))
    page, fields = paginate(entities, lambda e: f"{e[0]}:{e[1].name.lower()}", marker, max_items)
    return {"PolicyGroups": [{"GroupName": g.name, "GroupId": g.id} for k, g in page
                             if k == "group"],
            "PolicyUsers": [{"UserName": u.name, "UserId": u.id} for k, u in page
                            if k == "user"],
            "PolicyRoles": [], **fields}
