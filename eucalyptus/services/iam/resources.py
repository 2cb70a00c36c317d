"""The resource an IAM request acts on, as the ARN policies are evaluated against.

Requests naming a user, group or managed policy act on that entity's ARN (with its path when
the entity exists); ``GetUser`` and key operations without ``UserName`` act on the caller; the
rest (``ListUsers``, ``CreatePolicy`` without a name, ...) on ``*``.
"""
from __future__ import annotations

from sqlalchemy import func, select

from eucalyptus.aws.dispatch import RequestContext
from eucalyptus.db.schema import Group, User
from eucalyptus.services.iam.entities import group_arn, root_arn, user_arn

CALLER_DEFAULT = {"GetUser", "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey",
                  "DeleteAccessKey", "ListGroupsForUser", "ListUserPolicies",
                  "ListAttachedUserPolicies"}


def _path_of(ctx: RequestContext, model, name: str) -> str:
    path = ctx.db.scalars(select(model.path).where(
        model.account_id == ctx.account_id, func.lower(model.name) == name.lower())).first()
    return path or "/"


def resource_arn(ctx: RequestContext, params: dict) -> str:
    account = ctx.account_id
    if params.get("PolicyArn"):
        return params["PolicyArn"]
    if params.get("UserName"):
        name = params["UserName"]
        return user_arn(account, _path_of(ctx, User, name), name)
    if params.get("GroupName"):
        name = params["GroupName"]
        return group_arn(account, _path_of(ctx, Group, name), name)
    if ctx.operation in CALLER_DEFAULT and ctx.principal is not None:
        p = ctx.principal
        return root_arn(account) if p.is_root else user_arn(account, p.path, p.user_name)
    return "*"
