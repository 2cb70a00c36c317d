"""IAM users: CreateUser, GetUser, UpdateUser, DeleteUser, ListUsers.

Users live in the caller's account. The account's root user ``admin`` is listed like any user
but cannot be renamed, moved or deleted. DeleteUser is refused (DeleteConflict) while the user
has long-term access keys, inline or attached policies or group memberships; its temporary
(STS) keys go with it.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import delete, select

from eucalyptus import ids
from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.schema import AccessKey, GroupMember, InlinePolicy, PolicyAttachment, User
from eucalyptus.errors import DeleteConflict, EntityAlreadyExists, ValidationError
from eucalyptus.services.iam import names
from eucalyptus.services.iam.entities import (caller, find_named, find_user, target_user,
                                              user_shape)
from eucalyptus.services.iam.paging import paginate


def reject_unsupported(tags: list | None = None, permissions_boundary: str | None = None) -> None:
    """Tags and permissions boundaries are not stored; refuse rather than drop them."""
    if tags:
        raise ValidationError("Tagging IAM entities is not supported by this cloud.")
    if permissions_boundary:
        raise ValidationError("Permissions boundaries are not supported by this cloud.")


@operation
def create_user(ctx: RequestContext, user_name: str | None = None, path: str | None = None,
                permissions_boundary: str | None = None, tags: list | None = None, **_) -> dict:
    account_id = caller(ctx).account_id
    names.entity_name(user_name, "userName")
    path = names.path(path)
    reject_unsupported(tags, permissions_boundary)
    if find_named(ctx.db, User, account_id, user_name) is not None:
        raise EntityAlreadyExists(f"User with name {user_name} already exists.")
    user = User(id=ids.iam_id("user"), account_id=account_id, name=user_name, path=path)
    ctx.db.add(user)
    ctx.db.flush()
    return {"User": user_shape(user)}


@operation
def get_user(ctx: RequestContext, user_name: str | None = None, **_) -> dict:
    return {"User": user_shape(target_user(ctx, user_name))}


@operation
def update_user(ctx: RequestContext, user_name: str | None = None, new_path: str | None = None,
                new_user_name: str | None = None, **_) -> dict:
    account_id = caller(ctx).account_id
    names.entity_name(user_name, "userName")
    user = find_user(ctx.db, account_id, user_name)
    if user.is_root and (new_user_name is not None or new_path is not None):
        raise ValidationError(f"The account's root user {user.name} cannot be renamed or moved.")
    if new_path is not None:
        user.path = names.path(new_path, "newPath")
    if new_user_name is not None:
        names.entity_name(new_user_name, "newUserName")
        clash = find_named(ctx.db, User, account_id, new_user_name)
        if clash is not None and clash.id != user.id:
            raise EntityAlreadyExists(f"User with name {new_user_name} already exists.")
        user.name = new_user_name
    ctx.db.flush()
    return {}


def _count(ctx: RequestContext, stmt) -> int:
    return ctx.db.scalar(select(sa.func.count()).select_from(stmt.subquery()))


@operation
def delete_user(ctx: RequestContext, user_name: str | None = None, **_) -> dict:
    names.entity_name(user_name, "userName")
    user = find_user(ctx.db, caller(ctx).account_id, user_name)
    if user.is_root:
        raise DeleteConflict(f"Cannot delete the account's root user {user.name}.")
    if _count(ctx, select(AccessKey.id).where(AccessKey.user_id == user.id,
                                              AccessKey.session_token.is_(None))):
        raise DeleteConflict("Cannot delete entity, must delete access keys first.")
    if _count(ctx, select(InlinePolicy.id).where(InlinePolicy.owner_kind == "user",
                                                 InlinePolicy.owner_id == user.id)):
        raise DeleteConflict("Cannot delete entity, must delete policies first.")
    if _count(ctx, select(PolicyAttachment.policy_id).where(PolicyAttachment.owner_kind == "user",
                                                            PolicyAttachment.owner_id == user.id)):
        raise DeleteConflict("Cannot delete entity, must detach all policies first.")
    if _count(ctx, select(GroupMember.group_id).where(GroupMember.user_id == user.id)):
        raise DeleteConflict("Cannot delete entity, must remove user from all groups first.")
    ctx.db.execute(delete(AccessKey).where(AccessKey.user_id == user.id))
    ctx.db.delete(user)
    ctx.db.flush()
    return {}


@operation
def list_users(ctx: RequestContext, path_prefix: str | None = None, marker: str | None = None,
               max_items: int | None = None, **_) -> dict:
    prefix = names.path_prefix(path_prefix)
    rows = ctx.db.scalars(select(User).where(User.account_id == caller(ctx).account_id)).all()
    rows = [u for u in rows if u.path.startswith(prefix)]
    page, fields = paginate(rows, lambda u: u.name.lower(), marker, max_items)
    return {"Users": [user_shape(u) for u in page], **fields}
