"""Eucalyptus accounts: CreateAccount, ListAccounts, DeleteAccount (cloud administrator only).

These operations are Eucalyptus extensions of IAM (botocore's model lacks them; the gateway's
overlay describes them). Shapes::

    CreateAccount(AccountName)            -> {"Account": {"AccountName", "AccountId"}}
    ListAccounts()                        -> {"Accounts": [{"AccountName", "AccountId"}]}
    DeleteAccount(AccountName, Recursive) -> {}

An account is created with its root user ``admin``. The cloud's own account ``eucalyptus`` can
never be deleted; any other is refused with DeleteConflict while it holds users besides admin,
groups or policies, unless ``Recursive`` is true, which removes them all.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from eucalyptus import ids
from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.schema import (AccessKey, Account, Group, GroupMember, InlinePolicy,
                                  ManagedPolicy, PolicyAttachment, PolicyVersion, User)
from eucalyptus.errors import AccessDenied, DeleteConflict, EntityAlreadyExists, NotFound
from eucalyptus.services.iam import names
from eucalyptus.services.iam.entities import CLOUD_ADMIN_ACCOUNT, ROOT_USER, caller


def _require_cloud_admin(ctx: RequestContext, action: str) -> None:
    principal = caller(ctx)
    if not principal.is_cloud_admin:
        raise AccessDenied(f"User: {principal.arn} is not authorized to perform: iam:{action} "
                           "on resource: *")


def create_account_row(db: Session, name: str) -> Account:
    """Insert account ``name`` with its root user; EntityAlreadyExists if the name is taken."""
    names.account_name(name)
    if db.scalars(select(Account).where(sa.func.lower(Account.name) == name.lower())).first():
        raise EntityAlreadyExists(f"Account {name} already exists.")
    account_id = ids.account_id()
    while db.get(Account, account_id) is not None:
        account_id = ids.account_id()
    account = Account(id=account_id, name=name)
    db.add(account)
    db.flush()
    db.add(User(id=ids.iam_id("user"), account_id=account_id, name=ROOT_USER, path="/",
                is_root=True))
    db.flush()
    return account


def purge_account(db: Session, account_id: str) -> None:
    """Delete every identity row of ``account_id`` and the account itself."""
    user_ids = select(User.id).where(User.account_id == account_id)
    group_ids = select(Group.id).where(Group.account_id == account_id)
    policy_ids = select(ManagedPolicy.id).where(ManagedPolicy.account_id == account_id)
    owners = or_(InlinePolicy.owner_id.in_(user_ids), InlinePolicy.owner_id.in_(group_ids))
    db.execute(delete(InlinePolicy).where(owners))
    db.execute(delete(PolicyAttachment).where(or_(
        PolicyAttachment.owner_id.in_(user_ids), PolicyAttachment.owner_id.in_(group_ids),
        PolicyAttachment.policy_id.in_(policy_ids))))
    db.execute(delete(PolicyVersion).where(PolicyVersion.policy_id.in_(policy_ids)))
    db.execute(delete(GroupMember).where(or_(GroupMember.user_id.in_(user_ids),
                                             GroupMember.group_id.in_(group_ids))))
    db.execute(delete(AccessKey).where(AccessKey.user_id.in_(user_ids)))
    db.execute(delete(ManagedPolicy).where(ManagedPolicy.account_id == account_id))
    db.execute(delete(Group).where(Group.account_id == account_id))
    db.execute(delete(User).where(User.account_id == account_id))
    db.execute(delete(Account).where(Account.id == account_id))
    db.expire_all()


def _holdings(db: Session, account_id: str) -> str | None:
    """What keeps the account from a plain delete, or None."""
    others = select(sa.func.count()).select_from(User).where(User.account_id == account_id,
                                                          User.is_root.is_(False))
    if db.scalar(others):
        return "users"
    if db.scalar(select(sa.func.count()).select_from(Group).where(Group.account_id == account_id)):
        return "groups"
    if db.scalar(select(sa.func.count()).select_from(ManagedPolicy)
                 .where(ManagedPolicy.account_id == account_id)):
        return "policies"
    root_ids = select(User.id).where(User.account_id == account_id)
    if db.scalar(select(sa.func.count()).select_from(InlinePolicy)
                 .where(InlinePolicy.owner_id.in_(root_ids))):
        return "policies"
    return None


@operation
def create_account(ctx: RequestContext, account_name: str | None = None, **_) -> dict:
    _require_cloud_admin(ctx, "CreateAccount")
    account = create_account_row(ctx.db, account_name or "")
    return {"Account": {"AccountName": account.name, "AccountId": account.id}}


@operation
def list_accounts(ctx: RequestContext, **_) -> dict:
    _require_cloud_admin(ctx, "ListAccounts")
    rows = ctx.db.scalars(select(Account).order_by(Account.name)).all()
    return {"Accounts": [{"AccountName": a.name, "AccountId": a.id} for a in rows]}


@operation
def delete_account(ctx: RequestContext, account_name: str | None = None,
                   recursive: bool | str | None = None, **_) -> dict:
    _require_cloud_admin(ctx, "DeleteAccount")
    name = account_name or ""
    account = ctx.db.scalars(select(Account).where(sa.func.lower(Account.name) == name.lower())).first()
    if account is None:
        raise NotFound(f"Account {name} does not exist.")
    if account.name == CLOUD_ADMIN_ACCOUNT:
        raise DeleteConflict(f"The account {CLOUD_ADMIN_ACCOUNT} cannot be deleted.")
    recursive = recursive is True or str(recursive).lower() == "true"
    held = _holdings(ctx.db, account.id)
    if held and not recursive:
        raise DeleteConflict(f"Cannot delete account {account.name}: it still has {held}; "
                             "delete them first or use Recursive.")
    purge_account(ctx.db, account.id)
    return {}
