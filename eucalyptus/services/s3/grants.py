"""The ACL operations (Get/PutBucketAcl, Get/PutObjectAcl) and the ACL a new resource gets.

``initial_acl(ctx, owner_account, params, bucket=None)`` (reached through
``access.initial_acl``) is what CreateBucket, PutObject, CopyObject, CreateMultipartUpload and
browser POST uploads store in their row's ``acl`` column: the JSON text of the ACL the request
asks for with ``x-amz-acl`` or ``x-amz-grant-*``, owned by ``owner_account``, or None when it
asks for none (None means ``private`` to the owner).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.objects import Bucket
from eucalyptus.db.schema import Account
from eucalyptus.errors import ClientError
from eucalyptus.services.iam.entities import CLOUD_ADMIN_ACCOUNT
from eucalyptus.services.s3 import acl as acls
from eucalyptus.services.s3.access import authorize
from eucalyptus.services.s3.buckets import load_bucket
from eucalyptus.services.s3.canonical import (Party, canonical_id, party_for_account,
                                              party_for_canonical_id)
from eucalyptus.services.s3.objects import find_version

_ACL_PARAMS = ("ACL", "acl", *acls.GRANT_MEMBERS, "grant_full_control", "grant_read",
               "grant_write", "grant_read_acp", "grant_write_acp")


def _party(ctx, account_id: str) -> Party:
    return party_for_account(ctx.db, account_id) or Party(account_id, canonical_id(account_id),
                                                           "")


def _exec_reader(ctx) -> Party | None:
    account = ctx.db.scalars(select(Account).where(Account.name == CLOUD_ADMIN_ACCOUNT)).first()
    return Party(account.id, canonical_id(account.id), account.name) if account else None


def _resolver(ctx):
    return lambda cid: party_for_canonical_id(ctx.db, cid)


def requested_acl(ctx, params: dict[str, Any], owner_account: str, *,
                  bucket_account: str | None = None, body_allowed: bool = False) -> acls.Acl | None:
    """The ACL ``params`` ask for on a resource of ``owner_account`` (None: none asked)."""
    bucket_owner = _party(ctx, bucket_account) if bucket_account else None
    return acls.from_request(params, _party(ctx, owner_account), _resolver(ctx),
                             bucket_owner=bucket_owner, exec_reader=_exec_reader(ctx),
                             body_allowed=body_allowed)


def initial_acl(ctx, owner_account: str, params: dict[str, Any],
                bucket: Bucket | None = None) -> str | None:
    """The ``acl`` column value for a resource of ``owner_account`` (module docstring)."""
    if not any(params.get(name) is not None for name in _ACL_PARAMS):
        return None
    made = requested_acl(ctx, params, owner_account,
                         bucket_account=bucket.account_id if bucket is not None else None)
    return made.to_json() if made is not None else None


def stored_acl(ctx, text: str | None, owner_account: str) -> acls.Acl:
    """The ACL kept in a row's ``acl`` column (None: private to the owner), with names."""
    owner = _party(ctx, owner_account)
    made = acls.Acl.from_json(text, owner)
    made.owner_name = made.owner_name or owner.display_name
    return made


def _missing_acl() -> ClientError:
    return ClientError("MissingSecurityHeader", "Your request was missing a required header")


@operation
def get_bucket_acl(ctx, bucket: str, **_) -> dict:
    row = load_bucket(ctx, bucket)
    authorize(ctx, "s3:GetBucketAcl", row)
    return stored_acl(ctx, row.acl, row.account_id).to_output()


@operation
def put_bucket_acl(ctx, bucket: str, **params) -> dict:
    row = load_bucket(ctx, bucket)
    authorize(ctx, "s3:PutBucketAcl", row)
    made = requested_acl(ctx, params, row.account_id, body_allowed=True)
    if made is None:
        raise _missing_acl()
    row.acl = made.to_json()
    return {}


@operation
def get_object_acl(ctx, bucket: str, key: str, version_id: str | None = None, **_) -> dict:
    row = load_bucket(ctx, bucket)
    obj = find_version(ctx, row, key, version_id)
    authorize(ctx, "s3:GetObjectVersionAcl" if version_id else "s3:GetObjectAcl", row, obj)
    return stored_acl(ctx, obj.acl, obj.account_id).to_output()


@operation
def put_object_acl(ctx, bucket: str, key: str, version_id: str | None = None,
                   **params) -> dict:
    row = load_bucket(ctx, bucket)
    obj = find_version(ctx, row, key, version_id)
    authorize(ctx, "s3:PutObjectVersionAcl" if version_id else "s3:PutObjectAcl", row, obj)
    made = requested_acl(ctx, params, obj.account_id, bucket_account=row.account_id,
                         body_allowed=True)
    if made is None:
        raise _missing_acl()
    obj.acl = made.to_json()
    return {"VersionId": obj.version_id} if obj.version_id != "null" else {}
