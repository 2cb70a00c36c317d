"""Buckets: CreateBucket, DeleteBucket, HeadBucket, ListBuckets, GetBucketLocation.

Bucket names are global. ``load_bucket(ctx, name)`` is how every handler finds its bucket
(NoSuchBucket otherwise); ``check_bucket_name`` applies S3's naming rules (InvalidBucketName).
"""
from __future__ import annotations

import ipaddress
import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.objects import Bucket, ObjectVersion, Part, Upload
from eucalyptus.services.s3 import access, canonical
from eucalyptus.services.s3.errors import no_such_bucket, s3_error
from eucalyptus.services.s3.storage import defer_blob_delete

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return "Bucket name must be between 3 and 63 characters long"
    if not _NAME.fullmatch(name):
        return ("Bucket name can only contain lowercase letters, numbers, periods and hyphens, "
                "and must begin and end with a letter or number")
    if ".." in name or ".-" in name or "-." in name:
        return "Bucket name must not contain adjacent periods or a period next to a hyphen"
    try:
        ipaddress.IPv4Address(name)
        return "Bucket name must not be formatted as an IP address"
    except ValueError:
        pass
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "Bucket name uses a reserved prefix or suffix"
    return None


def check_bucket_name(name: str) -> None:
    problem = bucket_name_problem(name)
    if problem:
        raise s3_error("InvalidBucketName", f"The specified bucket is not valid. {problem}.",
                       400, BucketName=name)


def load_bucket(ctx, name: str) -> Bucket:
    """The bucket row called ``name``; NoSuchBucket when there is none."""
    bucket = ctx.db.get(Bucket, name) if name else None
    if bucket is None:
        raise no_such_bucket(name)
    return bucket


def read_bucket(ctx, name: str):
    """A read-only ``records.BucketRecord`` of bucket ``name`` for handlers that do not change
    it (cheaper than the ORM row); NoSuchBucket when there is none."""
    from eucalyptus.services.s3 import records

    bucket = records.bucket(ctx.db, name) if name else None
    if bucket is None:
        raise no_such_bucket(name)
    return bucket


def owner_of(ctx, account_id: str) -> dict[str, str]:
    """The ``Owner`` element (canonical id, display name) of an account, cached per request."""
    cache = ctx.extra.setdefault("owners", {})
    if account_id not in cache:
        party = canonical.party_for_account(ctx.db, account_id)
        cache[account_id] = party.owner_output() if party else {
            "ID": canonical.canonical_id(account_id), "DisplayName": account_id}
    return cache[account_id]


def _locations(ctx) -> set[str]:
    settings = ctx.settings
    return {ctx.region, getattr(settings, "zone", ctx.region)}


@operation
def create_bucket(ctx, bucket, create_bucket_configuration=None, **params):
    check_bucket_name(bucket)
    access.authorize(ctx, "s3:CreateBucket", None, None)
    location = ""
    if create_bucket_configuration:
        location = create_bucket_configuration.get("LocationConstraint") or ""
        if location and location not in _locations(ctx):
            raise s3_error("InvalidLocationConstraint", "The specified location-constraint is "
                           "not valid", 400, LocationConstraint=location)
    existing = ctx.db.get(Bucket, bucket)
    if existing is not None:
        _already(ctx, existing)
    row = Bucket(name=bucket, account_id=ctx.principal.account_id, owner_arn=ctx.principal.arn,
                 location=location,
                 acl=access.initial_acl(ctx, ctx.principal.account_id, params))
    ctx.db.add(row)
    try:
        ctx.db.flush()
    except IntegrityError:
        ctx.db.rollback()
        _already(ctx, ctx.db.get(Bucket, bucket))
        raise
    return {"Location": f"/{bucket}"}


def _already(ctx, existing: Bucket | None) -> None:
    if existing is None:
        return
    if existing.account_id == ctx.principal.account_id:
        raise s3_error("BucketAlreadyOwnedByYou", "Your previous request to create the named "
                       "bucket succeeded and you already own it.", 409, BucketName=existing.name)
    raise s3_error("BucketAlreadyExists", "The requested bucket name is not available. The "
                   "bucket namespace is shared by all users of the system. Please select a "
                   "different name and try again.", 409, BucketName=existing.name)


@operation
def delete_bucket(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:DeleteBucket", row)
    has_objects = ctx.db.execute(select(ObjectVersion.seq).where(
        ObjectVersion.bucket == bucket).limit(1)).first()
    if has_objects:
        raise s3_error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409,
                       BucketName=bucket)
    for (blob,) in ctx.db.execute(select(Part.blob).join(Upload, Upload.upload_id == Part.upload_id)
                                  .where(Upload.bucket == bucket)):
        defer_blob_delete(ctx, blob)
    for upload in ctx.db.scalars(select(Upload).where(Upload.bucket == bucket)):
        ctx.db.delete(upload)
    ctx.db.delete(row)
    return {}


@operation
def head_bucket(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:ListBucket", row)
    return {"BucketRegion": ctx.region}


@operation
def list_buckets(ctx, prefix=None, max_buckets=None, continuation_token=None, **_):
    access.authorize(ctx, "s3:ListAllMyBuckets", None, None)
    query = select(Bucket.name, Bucket.created_at).where(
        Bucket.account_id == ctx.principal.account_id).order_by(Bucket.name)
    if prefix:
        query = query.where(Bucket.name.startswith(prefix, autoescape=True))
    if continuation_token:
        query = query.where(Bucket.name > continuation_token)
    limit = max_buckets if max_buckets and 0 < max_buckets <= 10000 else None
    rows = list(ctx.db.execute(query.limit(limit + 1) if limit else query))
    result = {"Owner": owner_of(ctx, ctx.principal.account_id)}
    if limit and len(rows) > limit:
        rows = rows[:limit]
        result["ContinuationToken"] = rows[-1].name
    result["Buckets"] = [{"Name": r.name, "CreationDate": r.created_at,
                          "BucketRegion": ctx.region} for r in rows]
    if prefix:
        result["Prefix"] = prefix
    return result


@operation
def get_bucket_location(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:GetBucketLocation", row)
    return {"LocationConstraint": row.location or None}

