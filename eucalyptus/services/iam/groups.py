"""IAM groups and membership: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups,
AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser.

Groups live in the caller's account and hold only that account's users. DeleteGroup is refused
(DeleteConflict) while the group has members, inline policies or attached policies.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select

from eucalyptus import ids
from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.schema import Group, GroupMember, InlinePolicy, PolicyAttachment, User
from eucalyptus.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NotFound
from eucalyptus.services.iam import names
from eucalyptus.services.iam.entities import (caller, find_group, find_named, find_user,
                                              group_shape, user_shape)
from eucalyptus.services.iam.paging import paginate

GROUPS_PER_USER = 10


@operation
def create_group(ctx: RequestContext, group_name: str | None = None, path: str | None = None,
                 **_) -> dict:
    account_id = caller(ctx).account_id
    names.entity_name(group_name, "groupName")
    path = names.path(path)
    if find_named(ctx.db, Group, account_id, group_name) is not None:
        raise EntityAlreadyExists(f"Group with name {group_name} already exists.")
    group = Group(id=ids.iam_id("group"), account_id=account_id, name=group_name, path=path)
    ctx.db.add(group)
    ctx.db.flush()
    return {"Group": group_shape(group)}


@operation
def get_group(ctx: RequestContext, group_name: str | None = None, marker: str | None = None,
              max_items: int | None = None, **_) -> dict:
    names.entity_name(group_name, "groupName")
    group = find_group(ctx.db, caller(ctx).account_id, group_name)
    members = ctx.db.scalars(select(User).join(GroupMember, GroupMember.user_id == User.id)
                             .where(GroupMember.group_id == group.id)).all()
    page, fields = paginate(members, lambda u: u.name.lower(), marker, max_items)
    return {"Group": group_shape(group), "Users": [user_shape(u) for u in page], **fields}


@operation
def update_group(ctx: RequestContext, group_name: str | None = None, new_path: str | None = None,
                 new_group_name: str | None = None, **_) -> dict:
    account_id = caller(ctx).account_id
    names.entity_name(group_name, "groupName")
    group = find_group(ctx.db, account_id, group_name)
    if new_path is not None:
        group.path = names.path(new_path, "newPath")
    if new_group_name is not None:
        names.entity_name(new_group_name, "newGroupName")
        clash = find_named(ctx.db, Group, account_id, new_group_name)
        if clash is not None and clash.id != group.id:
            raise EntityAlreadyExists(f"Group with name {new_group_name} already exists.")
        group.name = new_group_name
    ctx.db.flush()
    return {}


def _exists(ctx: RequestContext, stmt) -> bool:
    return bool(ctx.db.scalar(select(sa.func.count()).select_from(stmt.subquery())))


@operation
def delete_group(ctx: RequestContext, group_name: str | None = None, **_) -> dict:
    names.entity_name(group_name, "groupName")
    group = find_group(ctx.db, caller(ctx).account_id, group_name)
    if _exists(ctx, select(GroupMember.user_id).where(GroupMember.group_id == group.id)):
        raise DeleteConflict("Cannot delete entity, must remove users from group first.")
    if _exists(ctx, select(InlinePolicy.id).where(InlinePolicy.owner_kind == "group",
                                                  InlinePolicy.owner_id == group.id)):
        raise DeleteConflict("Cannot delete entity, must delete policies first.")
    if _exists(ctx, select(PolicyAttachment.policy_id).where(
            PolicyAttachment.owner_kind == "group", PolicyAttachment.owner_id == group.id)):
        raise DeleteConflict("Cannot delete entity, must detach all policies first.")
    ctx.db.delete(group)
    ctx.db.flush()
    return {}


@operation
def list_groups(ctx: RequestContext, path_prefix: str | None = None, marker: str | None = None,
                max_items: int | None = None, **_) -> dict:
    prefix = names.path_prefix(path_prefix)
    rows = ctx.db.scalars(select(Group).where(Group.account_id == caller(ctx).account_id)).all()
    rows = [g for g in rows if g.path.startswith(prefix)]
    page, fields = paginate(rows, lambda g: g.name.lower(), marker, max_items)
    return {"Groups": [group_shape(g) for g in page], **fields}


@operation
def add_user_to_group(ctx: RequestContext, group_name: str | None = None,
                      user_name: str | None = None, **_) -> dict:
    account_id = caller(ctx).account_id
    names.entity_name(group_name, "groupName")
    names.entity_name(user_name, "userName")
    group = find_group(ctx.db, account_id, group_name)
    user = find_user(ctx.db, account_id, user_name)
    if ctx.db.get(GroupMember, (group.id, user.id)) is not None:
        return {}
    if _count_groups(ctx, user.id) >= GROUPS_PER_USER:
        raise LimitExceeded(f"Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}")
    ctx.db.add(GroupMember(group_id=group.id, user_id=user.id))
    ctx.db.flush()
    return {}


def _count_groups(ctx: RequestContext, user_id: str) -> int:
    return ctx.db.scalar(select(sa.func.count()).select_from(GroupMember)
                         .where(GroupMember.user_id == user_id))


@operation
def remove_user_from_group(ctx: RequestContext, group_name: str | None = None,
                           user_name: str | None = None, **_) -> dict:
    account_id = caller(ctx).account_id
    names.entity_name(group_name, "groupName")
    names.entity_name(user_name, "userName")
    group = find_group(ctx.db, account_id, group_name)
    user = find_user(ctx.db, account_id, user_name)
    member = ctx.db.get(GroupMember, (group.id, user.id))
    if member is None:
        raise NotFound(f"User {user.name} is not in group {group.name}.")
    ctx.db.delete(member)
    ctx.db.flush()
    return {}


@operation
def list_groups_for_user(ctx: RequestContext, user_name: str | None = None,
                         marker: str | None = None, max_items: int | None = None, **_) -> dict:
    names.entity_name(user_name, "userName")
    user = find_user(ctx.db, caller(ctx).account_id, user_name)
    rows = ctx.db.scalars(select(Group).join(GroupMember, GroupMember.group_id == Group.id)
                          .where(GroupMember.user_id == user.id)).all()
    page, fields = paginate(rows, lambda g: g.name.lower(), marker, max_items)
    return {"Groups": [group_shape(g) for g in page], **fields}
