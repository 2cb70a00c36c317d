"""Canonical user ids: how S3 names an account in ACLs and bucket policies.

Every account has one stable canonical id, a 64-hex-digit digest of its account id, and its
account name as DisplayName. ``Party`` carries both with the account id; ``party_for_account``
and ``party_for_canonical_id`` find them in the database (None when there is no such account).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus.db.schema import Account

CANONICAL_ID = re.compile(r"[0-9a-f]{64}")
_SALT = b"eucalyptus-s3-canonical-user:"


@dataclass(frozen=True)
class Party:
    """An account as S3 shows it: account id, canonical id, display name."""
    account_id: str
    canonical_id: str
    display_name: str

    def owner_output(self) -> dict[str, str]:
        return {"ID": self.canonical_id, "DisplayName": self.display_name}


def canonical_id(account_id: str) -> str:
    """The canonical user id of ``account_id``: the same on every call and every host."""
    return hashlib.sha256(_SALT + account_id.encode()).hexdigest()


def party_for_account(session: Session, account_id: str) -> Party | None:
    account = session.get(Account, account_id)
    if account is None:
        return None
    return Party(account.id, canonical_id(account.id), account.name)


def party_for_canonical_id(session: Session, cid: str) -> Party | None:
    """The account whose canonical id is ``cid`` (compared case-insensitively)."""
    cid = cid.strip().lower()
    if not CANONICAL_ID.fullmatch(cid):
        return None
    for account_id, name in session.execute(select(Account.id, Account.name)):
        if canonical_id(account_id) == cid:
            return Party(account_id, cid, name)
    return None
