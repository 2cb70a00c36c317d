"""Credential lookup for S3 requests: one query per request, nothing cached across requests.

``lookup_credentials(session, access_key_id)`` answers as ``identity.lookup_credentials`` does
(a ``Credential`` or None) but reads the columns it needs of the key, its user and account in
a single joined Core query (no ORM objects are built), since Walrus authenticates every
request afresh (a deleted or deactivated key fails at once).
"""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus.db.schema import AccessKey, Account, User
from eucalyptus.services.iam.identity import Credential, principal_for

_QUERY = (select(AccessKey.id, AccessKey.secret, AccessKey.active, AccessKey.session_token,
                 AccessKey.expires_at, User.id.label("user_id"), User.name.label("user_name"),
                 User.path, User.is_root, Account.id.label("account_id"),
                 Account.name.label("account_name"))
          .join(User, User.id == AccessKey.user_id)
          .join(Account, Account.id == User.account_id))


def lookup_credentials(session: Session, access_key_id: str) -> Credential | None:
    row = session.execute(_QUERY.where(AccessKey.id == access_key_id)).first()
    if row is None:
        return None
    key = SimpleNamespace(id=row.id, session_token=row.session_token)
    user = SimpleNamespace(id=row.user_id, name=row.user_name, path=row.path,
                           is_root=row.is_root)
    account = SimpleNamespace(id=row.account_id, name=row.account_name)
    return Credential(secret=row.secret, principal=principal_for(user, account, key),
                      active=row.active, session_token=row.session_token,
                      expires_at=row.expires_at)
