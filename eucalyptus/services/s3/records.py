"""The rows the object hot path reads and writes, through prepared statements.

PUT, GET and HEAD of an object read the caller's credential, the bucket and the key's version,
and a PUT installs a new version. These functions do that with ``prepared.Prepared`` statements
in the request's transaction, returning plain read-only records instead of ORM objects:

* ``credential(session, access_key_id)`` -> ``identity.Credential`` or None (what
  ``identity.lookup_credentials`` answers, read the same way on every request, so a deleted or
  deactivated key fails at once);
* ``bucket(session, name)`` -> ``BucketRecord`` or None;
* ``latest(session, bucket, key)`` / ``version(session, bucket, key, version_id)`` ->
  ``VersionRecord`` or None;
* ``retire_latest``, ``delete_null_versions`` (the blobs they named) and ``insert_version`` (of
  a ``NewVersion``) — the three writes of ``versioning.install``, which takes the key's lock
  first.

Records carry the same attribute names as ``Bucket`` and ``ObjectVersion`` rows, so the
authorization and output code reads either. Handlers that change a bucket or version load the
ORM row instead.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, delete, insert, inspect, select, update
from sqlalchemy.orm import Session

from eucalyptus.db.objects import Bucket, ObjectVersion
from eucalyptus.db.schema import AccessKey, Account, User
from eucalyptus.services.iam import identity
from eucalyptus.services.s3.prepared import Prepared


def _attributes(model) -> list[tuple[str, Any]]:
    """(attribute name, column) of every mapped column of ``model``, in table order."""
    return [(attr.key, attr.columns[0]) for attr in inspect(model).column_attrs]


_BUCKET_ATTRS = _attributes(Bucket)
_VERSION_ATTRS = _attributes(ObjectVersion)


class _Record:
    __slots__ = ()

    def __init__(self, values) -> None:
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__[:3])
        return f"{type(self).__name__}({shown}, ...)"


class BucketRecord(_Record):
    __slots__ = tuple(name for name, _ in _BUCKET_ATTRS)


class VersionRecord(_Record):
    __slots__ = tuple(name for name, _ in _VERSION_ATTRS)


# ---------------------------------------------------------------- reads

_CREDENTIAL = Prepared(lambda: (
    select(AccessKey.id, AccessKey.secret, AccessKey.active, AccessKey.session_token,
           AccessKey.expires_at, User.id, User.name, User.path, User.is_root, Account.id,
           Account.name)
    .join(User, User.id == AccessKey.user_id)
    .join(Account, Account.id == User.account_id)
    .where(AccessKey.id == bindparam("key_id"))))


def credential(session: Session, access_key_id: str) -> identity.Credential | None:
    row = _CREDENTIAL.one(session, key_id=access_key_id)
    if row is None:
        return None
    (key_id, secret, active, session_token, expires_at, user_id, user_name, path, is_root,
     account_id, account_name) = row
    principal = identity.principal_for(
        SimpleNamespace(id=user_id, name=user_name, path=path, is_root=bool(is_root)),
        SimpleNamespace(id=account_id, name=account_name),
        SimpleNamespace(id=key_id, session_token=session_token))
    return identity.Credential(secret=secret, principal=principal, active=bool(active),
                              session_token=session_token, expires_at=expires_at)


_BUCKET = Prepared(lambda: select(*(column for _, column in _BUCKET_ATTRS))
                   .where(Bucket.name == bindparam("name")))


def bucket(session: Session, name: str) -> BucketRecord | None:
    row = _BUCKET.one(session, name=name)
    return None if row is None else BucketRecord(row)


_VERSION_COLUMNS = tuple(column for _, column in _VERSION_ATTRS)
_LATEST = Prepared(lambda: select(*_VERSION_COLUMNS).where(
    ObjectVersion.bucket == bindparam("bucket"), ObjectVersion.key == bindparam("key"),
    ObjectVersion.is_latest.is_(True)))
_VERSION = Prepared(lambda: select(*_VERSION_COLUMNS).where(
    ObjectVersion.bucket == bindparam("bucket"), ObjectVersion.key == bindparam("key"),
    ObjectVersion.version_id == bindparam("version_id")))


def latest(session: Session, bucket: str, key: str) -> VersionRecord | None:
    row = _LATEST.one(session, bucket=bucket, key=key)
    return None if row is None else VersionRecord(row)


def version(session: Session, bucket: str, key: str, version_id: str) -> VersionRecord | None:
    row = _VERSION.one(session, bucket=bucket, key=key, version_id=version_id)
    return None if row is None else VersionRecord(row)


# ---------------------------------------------------------------- writes (under the key lock)

_RETIRE = Prepared(lambda: update(ObjectVersion).where(
    ObjectVersion.bucket == bindparam("b"), ObjectVersion.key == bindparam("k"),
    ObjectVersion.is_latest.is_(True)).values(is_latest=False))
_DELETE_NULL = Prepared(lambda: delete(ObjectVersion).where(
    ObjectVersion.bucket == bindparam("b"), ObjectVersion.key == bindparam("k"),
    ObjectVersion.version_id == bindparam("v")).returning(ObjectVersion.blob))
_INSERT_ATTRS = [(name, column) for name, column in _VERSION_ATTRS if name != "seq"]
_INSERT = Prepared(lambda: insert(ObjectVersion).values(
    {column.name: bindparam(f"p_{name}") for name, column in _INSERT_ATTRS}))


def retire_latest(session: Session, bucket: str, key: str) -> None:
    """The key's latest version (if any) stops being the latest."""
    _RETIRE.run(session, b=bucket, k=key)


def delete_null_versions(session: Session, bucket: str, key: str, null: str) -> list[str | None]:
    """Delete the key's versions with id ``null``; the blobs they named."""
    return [blob for (blob,) in _DELETE_NULL.rows(session, b=bucket, k=key, v=null)]


def _column_default(column) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)
    return default.arg


class NewVersion(SimpleNamespace):
    """A version about to be inserted: ``ObjectVersion``'s attribute names with plain values
    (building an ORM object would cost more than inserting its row). Attributes left unset
    take their column defaults."""


def insert_version(session: Session, row: NewVersion) -> None:
    """Insert ``row``; unset attributes take their defaults."""
    given = vars(row)
    values = {}
    for name, column in _INSERT_ATTRS:
        values[f"p_{name}"] = given[name] if name in given else _column_default(column)
    _INSERT.run(session, **values)
