"""Who a request comes from and what it may do.

* ``lookup_credentials(session, access_key_id)`` -> ``Credential`` or None: the secret and the
  principal behind a key (long-term or STS temporary). The gateway decides the error for a
  missing, inactive or expired key.
* ``authorize(session, principal, action, resource="*", context=None)`` returns or raises
  ``AccessDenied``. The cloud administrator (root of account ``eucalyptus``) may do anything;
  an account's root may do anything on resources of its own account; any other user needs an
  Allow, and no explicit Deny, among its inline and attached policies and its groups'.
  Resources naming another account in their ARN are refused to everyone but the cloud admin.
  ``sts:GetCallerIdentity`` and ``sts:GetSessionToken`` need no permission, as in AWS.
  Temporary credentials act as the user that requested them.
* ``record_key_use(session, access_key_id, service, region)`` notes a key's last use.
* ``bootstrap(session)`` and ``credentials_for(session, account, user)`` serve the admin CLI.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eucalyptus import ids
from eucalyptus.aws.dispatch import Principal
from eucalyptus.db.schema import (AccessKey, Account, GroupMember, InlinePolicy, ManagedPolicy,
                                  PolicyAttachment, PolicyVersion, User, utcnow)
from eucalyptus.errors import AccessDenied, NotFound
from eucalyptus.services.iam import policy
from eucalyptus.services.iam.accounts import create_account_row
from eucalyptus.services.iam.access_keys import new_access_key
from eucalyptus.services.iam.entities import (CLOUD_ADMIN_ACCOUNT, ROOT_USER, root_arn,
                                              user_arn)


@dataclass
class Credential:
    """An access key as the authenticator needs it."""
    secret: str
    principal: Principal
    active: bool
    session_token: str | None = None
    expires_at: dt.datetime | None = None      # naive UTC; None for long-term keys


class BootstrapResult(NamedTuple):
    account_id: str
    access_key_id: str
    secret: str


class UserCredentials(NamedTuple):
    access_key_id: str
    secret: str
    account_id: str
    user_arn: str


def principal_for(user: User, account: Account, key: AccessKey | None = None) -> Principal:
    """The Principal acting as ``user`` (through ``key`` when given)."""
    is_cloud_admin = user.is_root and account.name == CLOUD_ADMIN_ACCOUNT
    return Principal(
        account_id=account.id, account_name=account.name, user_id=user.id,
        user_name=user.name,
        arn=root_arn(account.id) if user.is_root else user_arn(account.id, user.path, user.name),
        access_key_id=key.id if key else "", is_root=user.is_root,
        is_cloud_admin=is_cloud_admin, session_token=key.session_token if key else None,
        path=user.path)


_CREDENTIAL_QUERY = (
    select(AccessKey.id, AccessKey.secret, AccessKey.active, AccessKey.session_token,
           AccessKey.expires_at, User.id.label("user_id"), User.name.label("user_name"),
           User.path, User.is_root, Account.id.label("account_id"),
           Account.name.label("account_name"))
    .join(User, User.id == AccessKey.user_id)
    .join(Account, Account.id == User.account_id))


def lookup_credentials(session: Session, access_key_id: str) -> Credential | None:
    """The credential of ``access_key_id``, or None when no such key exists.

    One joined query reading only the needed columns (no ORM objects): every request of every
    service authenticates afresh, so a deleted or deactivated key fails at once."""
    row = session.execute(_CREDENTIAL_QUERY.where(AccessKey.id == access_key_id)).first()
    if row is None:
        return None
    key = SimpleNamespace(id=row.id, session_token=row.session_token)
    user = SimpleNamespace(id=row.user_id, name=row.user_name, path=row.path,
                           is_root=row.is_root)
    account = SimpleNamespace(id=row.account_id, name=row.account_name)
    return Credential(secret=row.secret, principal=principal_for(user, account, key),
                      active=row.active, session_token=row.session_token,
                      expires_at=row.expires_at)


def record_key_use(session: Session, access_key_id: str, service: str, region: str,
                   when: dt.datetime | None = None) -> None:
    """Remember that ``access_key_id`` was just used for ``service`` in ``region``.

    Recorded with a minute's granularity, as IAM reports it, so a busy key costs one write a
    minute rather than one per request."""
    key = session.get(AccessKey, access_key_id)
    when = when or utcnow()
    if key is not None and not (
            key.last_used_service == service and key.last_used_region == region
            and key.last_used_at is not None
            and when - key.last_used_at < dt.timedelta(minutes=1)):
        key.last_used_at = when
        key.last_used_service = service
        key.last_used_region = region


def policies_of(session: Session, user_id: str) -> list[dict]:
    """Parsed documents governing ``user_id``: its inline and attached (default version)
    policies and those of every group it belongs to."""
    group_ids = list(session.scalars(select(GroupMember.group_id)
                                     .where(GroupMember.user_id == user_id)))
    owners = [("user", user_id)] + [("group", g) for g in group_ids]
    texts: list[str] = []
    for kind, owner_id in owners:
        texts += session.scalars(select(InlinePolicy.document).where(
            InlinePolicy.owner_kind == kind, InlinePolicy.owner_id == owner_id))
        texts += session.scalars(
            select(PolicyVersion.document)
            .join(ManagedPolicy, ManagedPolicy.id == PolicyVersion.policy_id)
            .join(PolicyAttachment, PolicyAttachment.policy_id == ManagedPolicy.id)
            .where(PolicyAttachment.owner_kind == kind, PolicyAttachment.owner_id == owner_id,
                   PolicyVersion.version_id == ManagedPolicy.default_version))
    documents = []
    for text in texts:
        try:
            documents.append(policy.validate(text))
        except policy.MalformedPolicyDocument:
            continue        # stored documents were validated on write; skip any that rot
    return documents


ALWAYS_ALLOWED = frozenset({"sts:getcalleridentity", "sts:getsessiontoken"})


def _resource_account(resource: str) -> str:
    parts = resource.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else ""


def _denied(principal: Principal, action: str, resource: str, explicit: bool) -> AccessDenied:
    tail = " with an explicit deny" if explicit else ""
    return AccessDenied(f"User: {principal.arn} is not authorized to perform: {action} on "
                        f"resource: {resource}{tail}")


def authorize(session: Session, principal: Principal, action: str, resource: str = "*",
              context: dict[str, Any] | None = None) -> None:
    """Allow or refuse ``principal`` doing ``action`` on ``resource`` (see module docstring).

    ``context`` adds condition keys (e.g. ``aws:SecureTransport``) to the ones derived from
    the principal (``aws:username``, ``aws:userid``, ``aws:PrincipalAccount``,
    ``aws:PrincipalArn``, ``aws:CurrentTime``).
    """
    if principal.is_cloud_admin:
        return
    owner = _resource_account(resource)
    if owner and owner not in (principal.account_id, "aws"):
        raise _denied(principal, action, resource, explicit=False)
    user = session.get(User, principal.user_id)
    if user is None or user.account_id != principal.account_id:
        raise _denied(principal, action, resource, explicit=False)
    if (principal.is_root and user.is_root) or action.lower() in ALWAYS_ALLOWED:
        return
    keys: dict[str, Any] = {
        "aws:username": user.name, "aws:userid": user.id,
        "aws:PrincipalAccount": principal.account_id, "aws:PrincipalArn": principal.arn,
        "aws:PrincipalType": "User",
        "aws:CurrentTime": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(dt.datetime.now(dt.timezone.utc).timestamp())),
    }
    if principal.session_token:
        keys["aws:TokenIssueTime"] = keys["aws:CurrentTime"]
    keys.update(context or {})
    decision = policy.evaluate(policies_of(session, user.id), action, resource, keys)
    if decision != "Allow":
        raise _denied(principal, action, resource, explicit=decision == "Deny")


def delegate(session: Session, principal: Principal, account_name: str) -> Principal:
    """Eucalyptus' ``DelegateAccount``: the cloud admin acting as the root of another
    account. Anyone else asking gets AccessDenied; an unknown account NoSuchEntity."""
    if not principal.is_cloud_admin:
        raise AccessDenied(f"User: {principal.arn} is not authorized to act as account "
                           f"{account_name}")
    account = _account_named(session, account_name)
    root = _user_named(session, account, ROOT_USER) if account else None
    if root is None:
        raise NotFound(f"Account {account_name} does not exist.")
    return principal_for(root, account)


def _account_named(session: Session, name: str) -> Account | None:
    return session.scalars(select(Account).where(func.lower(Account.name) == name.lower())).first()


def _active_long_term_key(session: Session, user: User) -> AccessKey | None:
    return session.scalars(select(AccessKey).where(
        AccessKey.user_id == user.id, AccessKey.session_token.is_(None),
        AccessKey.active.is_(True)).order_by(AccessKey.created_at)).first()


def _user_named(session: Session, account: Account, name: str) -> User | None:
    return session.scalars(select(User).where(User.account_id == account.id,
                                              func.lower(User.name) == name.lower())).first()


def bootstrap(session: Session) -> BootstrapResult:
    """Create, once, the ``eucalyptus`` account, its ``admin`` user and an access key; return
    that account's id and the admin's (first active) key. Calling it again changes nothing."""
    account = _account_named(session, CLOUD_ADMIN_ACCOUNT)
    if account is None:
        account = create_account_row(session, CLOUD_ADMIN_ACCOUNT)
    admin = _user_named(session, account, ROOT_USER)
    if admin is None:
        admin = User(id=ids.iam_id("user"),
                     account_id=account.id, name=ROOT_USER, path="/", is_root=True)
        session.add(admin)
        session.flush()
    key = _active_long_term_key(session, admin) or new_access_key(session, admin)
    return BootstrapResult(account.id, key.id, key.secret)


def credentials_for(session: Session, account_name: str, user_name: str) -> UserCredentials:
    """An active long-term key of ``user_name`` in ``account_name``, made if it has none.

    NotFound when the account or user does not exist; LimitExceeded when the user has no
    active key and already holds two inactive ones."""
    account = _account_named(session, account_name)
    if account is None:
        raise NotFound(f"Account {account_name} does not exist.")
    user = _user_named(session, account, user_name)
    if user is None:
        raise NotFound(f"The user with name {user_name} cannot be found.")
    key = _active_long_term_key(session, user) or new_access_key(session, user)
    return UserCredentials(key.id, key.secret, account.id,
                           user_arn(account.id, user.path, user.name))
