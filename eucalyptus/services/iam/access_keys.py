"""Long-term access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
GetAccessKeyLastUsed.

Without UserName these act on the caller's own user. A user holds at most two long-term keys
(LimitExceeded otherwise); temporary STS keys are never listed or counted here. A deleted key
stops authenticating at once, an Inactive one authenticates no request until made Active.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus import ids
from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.schema import AccessKey, User
from eucalyptus.errors import LimitExceeded, NotFound
from eucalyptus.services.iam import names
from eucalyptus.services.iam.entities import caller, is_active, target_user, utc
from eucalyptus.services.iam.paging import paginate

KEYS_PER_USER = 2


def _status(key: AccessKey) -> str:
    return "Active" if key.active else "Inactive"


def new_access_key(db: Session, user: User) -> AccessKey:
    """Create a long-term key for ``user``; LimitExceeded when it already has two."""
    count = db.scalar(select(sa.func.count()).select_from(AccessKey).where(
        AccessKey.user_id == user.id, AccessKey.session_token.is_(None)))
    if count >= KEYS_PER_USER:
        raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}")
    key_id = ids.access_key_id()
    while db.get(AccessKey, key_id) is not None:
        key_id = ids.access_key_id()
    key = AccessKey(id=key_id, secret=ids.secret_access_key(), user_id=user.id, active=True)
    db.add(key)
    db.flush()
    return key


def _user_key(ctx: RequestContext, user_name: str | None, access_key_id: str | None) -> AccessKey:
    user = target_user(ctx, user_name)
    key = ctx.db.get(AccessKey, access_key_id or "")
    if key is None or key.user_id != user.id or key.session_token is not None:
        raise NotFound(f"The Access Key with id {access_key_id} cannot be found.")
    return key


@operation
def create_access_key(ctx: RequestContext, user_name: str | None = None, **_) -> dict:
    if user_name is not None:
        names.entity_name(user_name, "userName")
    user = target_user(ctx, user_name)
    key = new_access_key(ctx.db, user)
    return {"AccessKey": {"UserName": user.name, "AccessKeyId": key.id, "Status": "Active",
                          "SecretAccessKey": key.secret, "CreateDate": utc(key.created_at)}}


@operation
def list_access_keys(ctx: RequestContext, user_name: str | None = None, marker: str | None = None,
                     max_items: int | None = None, **_) -> dict:
    user = target_user(ctx, user_name)
    rows = ctx.db.scalars(select(AccessKey).where(AccessKey.user_id == user.id,
                                                  AccessKey.session_token.is_(None))).all()
    page, fields = paginate(rows, lambda k: k.id, marker, max_items)
    return {"AccessKeyMetadata": [
        {"UserName": user.name, "AccessKeyId": k.id, "Status": _status(k),
         "CreateDate": utc(k.created_at)} for k in page], **fields}


@operation
def update_access_key(ctx: RequestContext, access_key_id: str | None = None,
                      status: str | None = None, user_name: str | None = None, **_) -> dict:
    active = is_active(status)
    key = _user_key(ctx, user_name, access_key_id)
    key.active = active
    ctx.db.flush()
    return {}


@operation
def delete_access_key(ctx: RequestContext, access_key_id: str | None = None,
                      user_name: str | None = None, **_) -> dict:
    key = _user_key(ctx, user_name, access_key_id)
    ctx.db.delete(key)
    ctx.db.flush()
    return {}


@operation
def get_access_key_last_used(ctx: RequestContext, access_key_id: str | None = None, **_) -> dict:
    key = ctx.db.get(AccessKey, access_key_id or "")
    user = ctx.db.get(User, key.user_id) if key is not None else None
    if key is None or user is None or user.account_id != caller(ctx).account_id:
        raise NotFound(f"The Access Key with id {access_key_id} cannot be found.")
    last_used = {"ServiceName": key.last_used_service or "N/A",
                 "Region": key.last_used_region or "N/A"}
    if key.last_used_at is not None:
        last_used["LastUsedDate"] = utc(key.last_used_at)
    return {"UserName": user.name, "AccessKeyLastUsed": last_used}
