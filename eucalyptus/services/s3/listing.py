"""Listing a bucket: ListObjects (V1), ListObjectsV2 and ListObjectVersions.

One walker serves all three: it reads rows in key order from an index range (never the whole
bucket), folds keys that contain the delimiter after the prefix into CommonPrefixes (skipping
straight past the rest of each folded prefix), and stops after ``max-keys`` entries, reporting
where to continue. ``encoding-type=url`` percent-encodes keys and prefixes in the answer.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import quote

from sqlalchemy import and_, or_, select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.objects import ObjectVersion
from eucalyptus.services.s3 import access
from eucalyptus.services.s3.buckets import load_bucket, owner_of
from eucalyptus.services.s3.errors import invalid_argument

MAX_KEYS = 1000
BATCH = 1000
AFTER_EVERYTHING = "\U0010ffff"
COLUMNS = (ObjectVersion.seq, ObjectVersion.key, ObjectVersion.version_id,
           ObjectVersion.is_latest, ObjectVersion.delete_marker, ObjectVersion.size,
           ObjectVersion.etag, ObjectVersion.last_modified, ObjectVersion.storage_class,
           ObjectVersion.account_id, ObjectVersion.checksum_algorithm)


@dataclass
class Page:
    rows: list = field(default_factory=list)          # rows (and their keys) in order
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: Any = None                                  # the last entry: a row or a prefix


def _max_keys(value: int | None) -> int:
    if value is None:
        return MAX_KEYS
    if value < 0:
        raise invalid_argument("max-keys must be a positive integer", "max-keys", value)
    return min(value, MAX_KEYS)


def _rows(ctx, bucket: str, prefix: str, after_key: str | None, after_seq: int | None,
          versions: bool, limit: int) -> list:
    query = select(*COLUMNS).where(ObjectVersion.bucket == bucket)
    if not versions:
        query = query.where(ObjectVersion.is_latest.is_(True),
                            ObjectVersion.delete_marker.is_(False))
    if after_key is not None:
        if versions and after_seq is not None:
            query = query.where(or_(ObjectVersion.key > after_key,
                                    and_(ObjectVersion.key == after_key,
                                         ObjectVersion.seq < after_seq)))
        else:
            query = query.where(ObjectVersion.key > after_key)
    if prefix:
        query = query.where(ObjectVersion.key >= prefix)
    order = (ObjectVersion.key, ObjectVersion.seq.desc()) if versions else (ObjectVersion.key,)
    return list(ctx.db.execute(query.order_by(*order).limit(limit)))


def walk(ctx, bucket: str, *, prefix: str = "", delimiter: str = "", after: str | None = None,
         after_seq: int | None = None, max_keys: int = MAX_KEYS, versions: bool = False
         ) -> Page:
    """Up to ``max_keys`` rows and common prefixes after ``after`` (exclusive)."""
    page = Page()
    if max_keys == 0:
        return page
    cursor, cursor_seq = after, after_seq
    if after is not None and prefix and after < prefix:
        cursor, cursor_seq = None, None
    if delimiter and after is not None and after.startswith(prefix):
        cut = after.find(delimiter, len(prefix))
        if cut >= 0 and after[:cut + len(delimiter)] == after:   # resuming after a prefix
            cursor, cursor_seq = after + AFTER_EVERYTHING, None
    while True:
        batch = BATCH if delimiter else min(BATCH, max_keys + 1)
        rows = _rows(ctx, bucket, prefix, cursor, cursor_seq, versions, batch)
        skipped = False
        for row in rows:
            if prefix and not row.key.startswith(prefix):
                return page
            common = None
            if delimiter:
                cut = row.key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = row.key[:cut + len(delimiter)]
            if len(page.rows) + len(page.prefixes) == max_keys:
                page.truncated = True
                return page
            if common is not None:
                page.prefixes.append(common)
                page.last = common
                cursor, cursor_seq = common + AFTER_EVERYTHING, None
                skipped = True
                break
            page.rows.append(row)
            page.last = row
            cursor, cursor_seq = row.key, row.seq
        if not skipped and len(rows) < batch:
            return page


def _encoder(encoding_type: str | None):
    if encoding_type is None:
        return lambda value: value
    if encoding_type != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type",
                               encoding_type)
    return lambda value: quote(value, safe="/") if value is not None else None


def _object_entry(ctx, row, encode, with_owner: bool) -> dict[str, Any]:
    entry = {"Key": encode(row.key), "LastModified": row.last_modified,
             "ETag": f'"{row.etag}"', "Size": row.size,
             "StorageClass": row.storage_class or "STANDARD"}
    if row.checksum_algorithm:
        entry["ChecksumAlgorithm"] = [row.checksum_algorithm]
    if with_owner:
        entry["Owner"] = owner_of(ctx, row.account_id)
    return entry


def _common(page: Page, encode) -> list[dict[str, str]]:
    return [{"Prefix": encode(p)} for p in page.prefixes]


def _last_key(page: Page) -> str:
    return page.last if isinstance(page.last, str) else page.last.key


@operation
def list_objects(ctx, bucket, prefix=None, delimiter=None, marker=None, max_keys=None,
                 encoding_type=None, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:ListBucket", row)
    encode = _encoder(encoding_type)
    limit = _max_keys(max_keys)
    page = walk(ctx, bucket, prefix=prefix or "", delimiter=delimiter or "",
                after=marker or None, max_keys=limit)
    out: dict[str, Any] = {"Name": bucket, "Prefix": encode(prefix or ""),
                           "Marker": encode(marker or ""), "MaxKeys": limit,
                           "IsTruncated": page.truncated,
                           "Contents": [_object_entry(ctx, r, encode, True) for r in page.rows],
                           "CommonPrefixes": _common(page, encode)}
    if delimiter:
        out["Delimiter"] = encode(delimiter)
        if page.truncated:
            out["NextMarker"] = encode(_last_key(page))
    if encoding_type:
        out["EncodingType"] = encoding_type
    return out


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_argument("The continuation token provided is incorrect",
                               "continuation-token", token) from None


@operation
def list_objects_v2(ctx, bucket, prefix=None, delimiter=None, continuation_token=None,
                    start_after=None, max_keys=None, encoding_type=None, fetch_owner=None, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:ListBucket", row)
    encode = _encoder(encoding_type)
    limit = _max_keys(max_keys)
    after = _untoken(continuation_token) if continuation_token else (start_after or None)
    page = walk(ctx, bucket, prefix=prefix or "", delimiter=delimiter or "", after=after,
                max_keys=limit)
    out: dict[str, Any] = {
        "Name": bucket, "Prefix": encode(prefix or ""), "MaxKeys": limit,
        "KeyCount": len(page.rows) + len(page.prefixes), "IsTruncated": page.truncated,
        "Contents": [_object_entry(ctx, r, encode, bool(fetch_owner)) for r in page.rows],
        "CommonPrefixes": _common(page, encode)}
    if delimiter:
        out["Delimiter"] = encode(delimiter)
    if continuation_token:
        out["ContinuationToken"] = continuation_token
    if start_after:
        out["StartAfter"] = encode(start_after)
    if page.truncated:
        out["NextContinuationToken"] = _token(_last_key(page))
    if encoding_type:
        out["EncodingType"] = encoding_type
    return out


def _version_seq(ctx, bucket: str, key: str, version_id: str) -> int | None:
    return ctx.db.scalar(select(ObjectVersion.seq).where(
        ObjectVersion.bucket == bucket, ObjectVersion.key == key,
        ObjectVersion.version_id == version_id))


@operation
def list_object_versions(ctx, bucket, prefix=None, delimiter=None, key_marker=None,
                         version_id_marker=None, max_keys=None, encoding_type=None, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:ListBucketVersions", row)
    encode = _encoder(encoding_type)
    limit = _max_keys(max_keys)
    after_seq = None
    if key_marker and version_id_marker:
        # a marker version deleted meanwhile (clients delete while paging): go on after its key
        after_seq = _version_seq(ctx, bucket, key_marker, version_id_marker)
    elif version_id_marker:
        raise invalid_argument("A version-id marker cannot be specified without a key marker.",
                               "version-id-marker", version_id_marker)
    page = walk(ctx, bucket, prefix=prefix or "", delimiter=delimiter or "",
                after=key_marker or None, after_seq=after_seq, max_keys=limit, versions=True)
    versions, markers = [], []
    for item in page.rows:
        entry = {"Key": encode(item.key), "VersionId": item.version_id,
                 "IsLatest": bool(item.is_latest), "LastModified": item.last_modified,
                 "Owner": owner_of(ctx, item.account_id)}
        if item.delete_marker:
            markers.append(entry)
        else:
            entry.update({"ETag": f'"{item.etag}"', "Size": item.size,
                          "StorageClass": item.storage_class or "STANDARD"})
            versions.append(entry)
    out: dict[str, Any] = {"Name": bucket, "Prefix": encode(prefix or ""),
                           "KeyMarker": encode(key_marker or ""),
                           "VersionIdMarker": version_id_marker or "", "MaxKeys": limit,
                           "IsTruncated": page.truncated, "Versions": versions,
                           "DeleteMarkers": markers, "CommonPrefixes": _common(page, encode)}
    if delimiter:
        out["Delimiter"] = encode(delimiter)
    if page.truncated:
        if isinstance(page.last, str):
            out["NextKeyMarker"] = encode(page.last)
        else:
            out["NextKeyMarker"] = encode(page.last.key)
            out["NextVersionIdMarker"] = page.last.version_id
    if encoding_type:
        out["EncodingType"] = encoding_type
    return out


def iter_versions(ctx, bucket: str, prefix: str = "") -> Iterator[Any]:
    """Every version row of ``bucket`` under ``prefix`` in listing order, read in batches."""
    after, after_seq = None, None
    while True:
        rows = _rows(ctx, bucket, prefix, after, after_seq, True, BATCH)
        for row in rows:
            if prefix and not row.key.startswith(prefix):
                return
            yield row
        if len(rows) < BATCH:
            return
        after, after_seq = rows[-1].key, rows[-1].seq
