"""Bucket and object tags: Put/Get/DeleteBucketTagging, Put/Get/DeleteObjectTagging, and the
``x-amz-tagging`` header of PutObject / CopyObject.

A tag set is stored as JSON text (``{"key": "value", ...}``) in the ``tags`` column of a bucket
or an object version. The rules S3 applies to every tag set:

* at most 50 tags on a bucket (InvalidTag), at most 10 on an object (BadRequest);
* keys 1-128 characters, values 0-256, made of letters, digits, white space and ``+ - = . _ :
  / @`` (InvalidTag);
* no key twice (InvalidTag), no key starting with ``aws:`` (InvalidTag).
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, quote

from eucalyptus.aws.dispatch import operation
from eucalyptus.errors import ClientError
from eucalyptus.services.s3 import access, versioning
from eucalyptus.services.s3.buckets import load_bucket
from eucalyptus.services.s3.errors import malformed_xml, s3_error
from eucalyptus.services.s3.objects import find_version

BUCKET_LIMIT = 50
OBJECT_LIMIT = 10
MAX_KEY = 128
MAX_VALUE = 256
_ALLOWED = re.compile(r"[\w\s+\-=._:/@]*")


def invalid_tag(message: str) -> ClientError:
    return ClientError("InvalidTag", message)


def validate_pairs(pairs: Iterable[tuple[str, str]], kind: str) -> dict[str, str]:
    """Check ``(key, value)`` pairs of a ``kind`` ("bucket" or "object") tag set and return
    them as a dict, raising the error S3 gives for the first rule broken."""
    pairs = list(pairs)
    limit = BUCKET_LIMIT if kind == "bucket" else OBJECT_LIMIT
    if len(pairs) > limit:
        if kind == "bucket":
            raise invalid_tag(f"Bucket tag count cannot be greater than {BUCKET_LIMIT}")
        raise ClientError("BadRequest", f"Object tags cannot be greater than {OBJECT_LIMIT}")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if len(key) > MAX_KEY:
            raise invalid_tag(f"The TagKey you have provided is too long, max {MAX_KEY}")
        if len(value) > MAX_VALUE:
            raise invalid_tag(f"The TagValue you have provided is too long, max {MAX_VALUE}")
        if not key or not _ALLOWED.fullmatch(key):
            raise invalid_tag("The TagKey you have provided is invalid")
        if not _ALLOWED.fullmatch(value):
            raise invalid_tag("The TagValue you have provided is invalid")
        if key.lower().startswith("aws:"):
            raise invalid_tag("System tags cannot be added/updated by requester")
        if key in tags:
            raise invalid_tag("Cannot provide multiple Tags with the same key")
        tags[key] = value
    return tags


def validate_tag_set(tagging: Mapping[str, Any] | None, kind: str) -> dict[str, str]:
    """The tags of a ``Tagging`` input (``{"TagSet": [{"Key", "Value"}]}``) as a dict.

    A Tagging without a TagSet element is MalformedXML.
    """
    if not tagging or "TagSet" not in tagging:
        raise malformed_xml()
    return validate_pairs(((t.get("Key", ""), t.get("Value", "")) for t in tagging["TagSet"]),
                          kind)


def parse_header(text: str | None) -> dict[str, str]:
    """Object tags from an ``x-amz-tagging`` header (URL-encoded ``k1=v1&k2=v2``)."""
    if not text:
        return {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise invalid_tag("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded "
                          "URL query parameters without tag name duplicates.") from None
    return validate_pairs(pairs, "object")


def format_header(tags: Mapping[str, str]) -> str:
    """The ``x-amz-tagging`` form of ``tags`` (the inverse of :func:`parse_header`)."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in tags.items())


def dump(tags: Mapping[str, str]) -> str | None:
    """The JSON text stored for ``tags``; None for no tags."""
    return json.dumps(dict(tags), separators=(",", ":")) if tags else None


def load(text: str | None) -> dict[str, str]:
    """Tags from stored text (a JSON object, or a list of ``{"Key", "Value"}``)."""
    if not text:
        return {}
    value = json.loads(text)
    if isinstance(value, list):
        return {item["Key"]: item.get("Value", "") for item in value}
    return dict(value)


def tag_set(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``tags`` in botocore's ``TagSet`` shape."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def count(text: str | None) -> int:
    """How many tags stored text holds (the ``x-amz-tagging-count`` header)."""
    return len(load(text))


# ---------------------------------------------------------------- handlers

def _bucket(ctx, name: str, action: str):
    row = load_bucket(ctx, name)
    access.authorize(ctx, action, row)
    return row


@operation
def put_bucket_tagging(ctx, bucket, tagging=None, **_):
    row = _bucket(ctx, bucket, "s3:PutBucketTagging")
    row.tags = dump(validate_tag_set(tagging, "bucket"))
    return {}


@operation
def get_bucket_tagging(ctx, bucket, **_):
    row = _bucket(ctx, bucket, "s3:GetBucketTagging")
    tags = load(row.tags)
    if not tags:
        raise s3_error("NoSuchTagSet", "The TagSet does not exist", 404, BucketName=bucket)
    return {"TagSet": tag_set(tags)}


@operation
def delete_bucket_tagging(ctx, bucket, **_):
    row = _bucket(ctx, bucket, "s3:PutBucketTagging")
    row.tags = None
    return {}


def _object(ctx, bucket: str, key: str, version_id: str | None, action: str):
    """(bucket row, version row) of an object tagging request, authorized for ``action``
    (its ``Version`` form when a version id is given)."""
    row = load_bucket(ctx, bucket)
    version = find_version(ctx, row, key, version_id)
    if version_id is not None:
        action = action.replace("Object", "ObjectVersion", 1)
    access.authorize(ctx, action, row, version)
    return row, version


def _version_out(bucket_row, version) -> dict[str, Any]:
    return ({"VersionId": version.version_id} if versioning.reports_versions(bucket_row)
            else {})


@operation
def put_object_tagging(ctx, bucket, key, tagging=None, version_id=None, **_):
    tags = validate_tag_set(tagging, "object")
    row, version = _object(ctx, bucket, key, version_id, "s3:PutObjectTagging")
    version.tags = dump(tags)
    return _version_out(row, version)


@operation
def get_object_tagging(ctx, bucket, key, version_id=None, **_):
    row, version = _object(ctx, bucket, key, version_id, "s3:GetObjectTagging")
    return {"TagSet": tag_set(load(version.tags)), **_version_out(row, version)}


@operation
def delete_object_tagging(ctx, bucket, key, version_id=None, **_):
    row, version = _object(ctx, bucket, key, version_id, "s3:DeleteObjectTagging")
    version.tags = None
    return _version_out(row, version)
