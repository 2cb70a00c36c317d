"""IAM entities as the API sees them: ARNs, account-scoped lookups and output shapes.

Every lookup takes the caller's ``account_id`` and only ever finds rows of that account, so a
request can never name another account's user, group or policy. Names compare
case-insensitively, as IAM's do.
"""
from __future__ import annotations

import datetime as dt
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eucalyptus.aws.dispatch import Principal, RequestContext
from eucalyptus.db.schema import Group, ManagedPolicy, User
from eucalyptus.errors import MissingAuthenticationToken, NotFound, ValidationError

CLOUD_ADMIN_ACCOUNT = "eucalyptus"
ROOT_USER = "admin"

M = TypeVar("M", User, Group, ManagedPolicy)


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def user_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:user{path}{name}"


def group_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:group{path}{name}"


def policy_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:policy{path}{name}"


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored naive-UTC timestamp as an aware one, for the serializers."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def is_active(status: str | None) -> bool:
    """A key's or certificate's ``Status`` ("Active" or "Inactive") as a flag; ValidationError
    for anything else."""
    if status not in ("Active", "Inactive"):
        raise ValidationError(
            f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Active, Inactive]")
    return status == "Active"


def encode_document(document: str) -> str:
    """A policy document URL-encoded the way IAM returns it (botocore decodes it)."""
    return quote(document, safe="")


def caller(ctx: RequestContext) -> Principal:
    """The authenticated principal of ``ctx``; anonymous calls cannot reach IAM or STS."""
    if ctx.principal is None:
        raise MissingAuthenticationToken("Request is missing Authentication Token")
    return ctx.principal


def find_named(db: Session, model: type[M], account_id: str, name: str) -> M | None:
    """The row of ``model`` named ``name`` (any case) in ``account_id``, or None."""
    stmt = select(model).where(model.account_id == account_id,
                               func.lower(model.name) == name.lower())
    return db.scalars(stmt).first()


def find_user(db: Session, account_id: str, name: str) -> User:
    user = find_named(db, User, account_id, name)
    if user is None:
        raise NotFound(f"The user with name {name} cannot be found.")
    return user


def find_group(db: Session, account_id: str, name: str) -> Group:
    group = find_named(db, Group, account_id, name)
    if group is None:
        raise NotFound(f"The group with name {name} cannot be found.")
    return group


def caller_user(ctx: RequestContext) -> User:
    """The user row behind the caller's credentials (temporary ones act as their user)."""
    principal = caller(ctx)
    user = ctx.db.get(User, principal.user_id)
    if user is None or user.account_id != principal.account_id:
        raise NotFound(f"The user with name {principal.user_name} cannot be found.")
    return user


def target_user(ctx: RequestContext, user_name: str | None) -> User:
    """The user a request names, or the caller when it names none."""
    if user_name is None:
        return caller_user(ctx)
    return find_user(ctx.db, caller(ctx).account_id, user_name)


def user_shape(user: User) -> dict:
    return {"Path": user.path, "UserName": user.name, "UserId": user.id,
            "Arn": user_arn(user.account_id, user.path, user.name),
            "CreateDate": utc(user.created_at)}


def group_shape(group: Group) -> dict:
    return {"Path": group.path, "GroupName": group.name, "GroupId": group.id,
            "Arn": group_arn(group.account_id, group.path, group.name),
            "CreateDate": utc(group.created_at)}
