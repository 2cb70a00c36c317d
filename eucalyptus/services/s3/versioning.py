"""Bucket versioning (Put/GetBucketVersioning) and the rules for switching object versions.

A bucket's ``versioning`` is "" (never enabled), "Enabled" or "Suspended". New versions get a
fresh id when Enabled and the id "null" otherwise; a "null" version replaces any earlier
"null" version of the key. ``install(ctx, bucket, row)`` makes a new version (or delete marker)
the latest one; ``remove(ctx, bucket, row)`` deletes one version and promotes the newest
remaining one. Both take the key's write lock first and defer blob removal until commit.
"""
from __future__ import annotations

import secrets

from sqlalchemy import select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.objects import Bucket, ObjectVersion
from eucalyptus.services.s3 import access, records
from eucalyptus.services.s3.buckets import load_bucket
from eucalyptus.services.s3.errors import malformed_xml
from eucalyptus.services.s3.storage import defer_blob_delete, lock_key

NULL = "null"
STATES = ("Enabled", "Suspended")


def new_version_id(bucket: Bucket) -> str:
    if bucket.versioning == "Enabled":
        return secrets.token_urlsafe(24).replace("-", "0").replace("_", "1")
    return NULL


def reports_versions(bucket: Bucket) -> bool:
    """Whether responses carry x-amz-version-id (versioning was ever configured)."""
    return bucket.versioning in STATES


def latest(session, bucket: str, key: str) -> ObjectVersion | None:
    return session.scalars(select(ObjectVersion).where(
        ObjectVersion.bucket == bucket, ObjectVersion.key == key,
        ObjectVersion.is_latest.is_(True))).first()


def install(ctx, bucket: Bucket, row: records.NewVersion) -> None:
    """Make ``row`` (a ``records.NewVersion``, never an ORM object of the session) the latest
    version of its key: earlier "null" versions go (their blobs after commit) when ``row`` is
    one, the previous latest version stops being the latest (in a bucket whose versioning was
    never configured every version is "null", so none is left), ``row`` is inserted."""
    session = ctx.db
    lock_key(session, bucket.name, row.key)
    if row.version_id == NULL:
        for blob in records.delete_null_versions(session, bucket.name, row.key, NULL):
            defer_blob_delete(ctx, blob)
    if reports_versions(bucket):     # else every version was "null" and is gone already
        records.retire_latest(session, bucket.name, row.key)
    row.is_latest = True
    records.insert_version(session, row)


def remove(ctx, bucket: Bucket, row: ObjectVersion) -> None:
    """Delete one version; the newest remaining version of the key becomes the latest."""
    session = ctx.db
    lock_key(session, bucket.name, row.key)
    current = session.get(ObjectVersion, row.seq, populate_existing=True)
    if current is None:
        return
    was_latest = current.is_latest
    defer_blob_delete(ctx, current.blob)
    session.delete(current)
    session.flush()
    if was_latest:
        newest = session.scalars(select(ObjectVersion).where(
            ObjectVersion.bucket == bucket.name, ObjectVersion.key == row.key)
            .order_by(ObjectVersion.seq.desc()).limit(1)).first()
        if newest is not None:
            newest.is_latest = True
            session.flush()


@operation
def put_bucket_versioning(ctx, bucket, versioning_configuration=None, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:PutBucketVersioning", row)
    status = (versioning_configuration or {}).get("Status")
    if status not in STATES:
        raise malformed_xml()
    row.versioning = status
    return {}


@operation
def get_bucket_versioning(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:GetBucketVersioning", row)
    return {"Status": row.versioning} if row.versioning in STATES else {}
