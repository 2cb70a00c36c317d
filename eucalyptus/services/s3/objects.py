"""Objects: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.

Bytes stream into a new immutable blob (``ingest.receive``); the version row that names it is
written under the key's lock and the request's commit is the switch readers see. GET opens the
blob named by the row it read and streams it with sendfile (``FileSlice``); a blob removed by a
concurrent overwrite between the two is retried against the new row.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.objects import Bucket, ObjectVersion
from eucalyptus.db.schema import utcnow
from eucalyptus.drivers.objects.base import BlobNotFound, blob_start
from eucalyptus.services.s3 import (access, checksums, group_commit, ingest, records,
                                    versioning)
from eucalyptus.services.s3 import metadata as objmeta
from eucalyptus.services.s3.buckets import load_bucket, read_bucket
from eucalyptus.services.s3.errors import (invalid_argument, invalid_request, malformed_xml,
                                           no_such_key, no_such_version, s3_error)
from eucalyptus.services.s3.preconditions import FileSlice, decide
from eucalyptus.services.s3.storage import blob_store, lock_key, release, release_before

MAX_KEY_BYTES = 1024
MAX_DELETE = 1000


def check_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise s3_error("KeyTooLongError", "Your key is too long", 400, MaxSizeAllowed=1024)


def quoted(etag: str) -> str:
    return f'"{etag}"'


def find_version(ctx, bucket: Bucket, key: str, version_id: str | None = None,
                 *, for_read: bool = True, readonly: bool = False) -> ObjectVersion:
    """The version asked for (latest when ``version_id`` is None).

    NoSuchKey / NoSuchVersion when absent; a delete marker as latest is NoSuchKey with
    ``x-amz-delete-marker``; a delete marker asked for by id is MethodNotAllowed (405) for
    reads. ``readonly`` answers a ``records.VersionRecord`` (for callers that change nothing)
    instead of the ORM row."""
    def query():             # built only for the ORM row (readers use prepared statements)
        return select(ObjectVersion).where(ObjectVersion.bucket == bucket.name,
                                           ObjectVersion.key == key)
    if version_id is None:
        row = (records.latest(ctx.db, bucket.name, key) if readonly else
               ctx.db.scalars(query().where(ObjectVersion.is_latest.is_(True))).first())
        if row is None:
            raise no_such_key(key)
        if row.delete_marker:
            error = no_such_key(key)
            error.headers["x-amz-delete-marker"] = "true"
            if versioning.reports_versions(bucket):
                error.headers["x-amz-version-id"] = row.version_id
            raise error
        return row
    row = (records.version(ctx.db, bucket.name, key, version_id) if readonly else
           ctx.db.scalars(query().where(ObjectVersion.version_id == version_id)).first())
    if row is None:
        if version_id != versioning.NULL and not version_id.replace("-", "").isalnum():
            raise invalid_argument("Invalid version id specified", "versionId", version_id)
        raise no_such_version(key, version_id)
    if row.delete_marker and for_read:
        raise s3_error("MethodNotAllowed", "The specified method is not allowed against this "
                       "resource.", 405, headers={"x-amz-delete-marker": "true",
                                                  "x-amz-version-id": row.version_id,
                                                  "Allow": "DELETE"},
                       Method="GET", ResourceType="DeleteMarker")
    return row


def version_members(bucket: Bucket, row: ObjectVersion) -> dict[str, Any]:
    return {"VersionId": row.version_id} if versioning.reports_versions(bucket) else {}


def check_write_conditions(ctx, bucket: Bucket, key: str, if_match, if_none_match,
                           lock: bool = False) -> None:
    """If-Match / If-None-Match of a write; with ``lock``, judged under the key's write lock,
    taken first, so they still hold when the transaction commits."""
    if if_match is None and if_none_match is None:
        return
    if lock:
        lock_key(ctx.db, bucket.name, key)
    current = versioning.latest(ctx.db, bucket.name, key)
    exists = current is not None and not current.delete_marker
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise s3_error("NotImplemented", "If-None-Match only supports *", 501)
        if exists:
            raise s3_error("PreconditionFailed", "At least one of the pre-conditions you "
                           "specified did not hold", 412, Condition="If-None-Match")
    if if_match is not None:
        if not exists:
            raise no_such_key(key)
        decide(etag=current.etag, last_modified=current.last_modified, size=current.size,
               if_match=if_match, read=False)


def new_version(ctx, bucket: Bucket, key: str, received: ingest.Received | None, *,
                headers: dict, meta: dict, acl: str | None, tags: str | None = None,
                checksum_type: str | None = None, parts_count: int | None = None,
                storage_class: str | None = None) -> records.NewVersion:
    row = records.NewVersion(
        bucket=bucket.name, key=key, version_id=versioning.new_version_id(bucket),
        account_id=ctx.principal.account_id if ctx.principal else bucket.account_id,
        owner_arn=ctx.principal.arn if ctx.principal else "",
        size=received.size, etag=received.etag, blob=received.blob, last_modified=utcnow(),
        headers=objmeta.dump(headers), metadata_json=objmeta.dump(meta),
        checksum_algorithm=received.checksum_algorithm, checksum=received.checksum,
        checksum_type=checksum_type, parts_count=parts_count,
        storage_class=storage_class or "STANDARD", acl=acl, tags=tags, delete_marker=False)
    versioning.install(ctx, bucket, row)
    return row


@operation
async def put_object(ctx, bucket, key, body=None, content_md5=None, metadata=None,
                     if_match=None, if_none_match=None, storage_class=None, tagging=None,
                     **params):
    row = read_bucket(ctx, bucket)
    check_key(key)
    access.authorize(ctx, "s3:PutObject", row, key)
    raw_headers = ctx.extra.get("headers", {})
    checksums.validate_content_md5(content_md5)
    expected = checksums.Expectation.from_params(params, raw_headers.get("x-amz-trailer"))
    headers = objmeta.content_headers(params, raw_headers)
    meta = objmeta.user_metadata(metadata)
    acl = access.initial_acl(ctx, ctx.principal.account_id if ctx.principal else
                             row.account_id, params, row)
    tags = tags_json(tagging)
    check_write_conditions(ctx, row, key, if_match, if_none_match)
    release_before(ctx, body)
    received = await ingest.receive(blob_store(ctx), body, content_md5=content_md5,
                                    expected=expected)

    def install(view):       # in a transaction shared with other uploads (group_commit)
        check_write_conditions(view, row, key, if_match, if_none_match, lock=True)
        return new_version(view, row, key, received, headers=headers, meta=meta, acl=acl,
                           tags=tags, storage_class=storage_class)

    version = await group_commit.write(ctx, install,
                                       undo=lambda: blob_store(ctx).delete(received.blob))
    out = {"ETag": quoted(version.etag), **version_members(row, version)}
    out.update(checksums.output_members(version.checksum_algorithm, version.checksum))
    return out


def tags_json(tagging: str | None) -> str | None:
    if not tagging:
        return None
    from eucalyptus.services.s3 import tagging as tag_rules
    return tag_rules.dump(tag_rules.parse_header(tagging))


def _read_output(ctx, bucket: Bucket, row: ObjectVersion, params: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"ETag": quoted(row.etag), "LastModified": row.last_modified,
                           "AcceptRanges": "bytes", **version_members(bucket, row)}
    out.update(objmeta.output(row.headers, row.metadata_json, params))
    if row.storage_class and row.storage_class != "STANDARD":
        out["StorageClass"] = row.storage_class
    if row.parts_count:
        out["PartsCount"] = row.parts_count
    if row.tags:
        count = len(json.loads(row.tags))
        if count:
            out["TagCount"] = count
    return out


async def _serve(ctx, bucket_name, key, version_id, params, *, with_body: bool) -> dict:
    bucket = read_bucket(ctx, bucket_name)
    action = "s3:GetObjectVersion" if version_id else "s3:GetObject"
    for attempt in range(3):
        row = find_version(ctx, bucket, key, version_id, readonly=True)
        access.authorize(ctx, action, bucket, row)
        out = _read_output(ctx, bucket, row, params)
        decision = decide(etag=row.etag, last_modified=row.last_modified, size=row.size,
                          if_match=params.get("if_match"),
                          if_none_match=params.get("if_none_match"),
                          if_modified_since=params.get("if_modified_since"),
                          if_unmodified_since=params.get("if_unmodified_since"),
                          range_header=params.get("range"),
                          headers_304={"ETag": quoted(row.etag),
                                       "Last-Modified": _http_date(row.last_modified)})
        if decision.status == 206:
            out["ContentRange"] = decision.content_range
            ctx.extra["status"] = 206
        elif params.get("checksum_mode") == "ENABLED":
            out.update(checksums.output_members(row.checksum_algorithm, row.checksum,
                                                row.checksum_type))
        out["ContentLength"] = decision.length
        if not with_body:
            return out
        try:
            handle = blob_store(ctx).open(row.blob) if row.blob else None
        except BlobNotFound:
            ctx.db.commit()          # overwritten meanwhile: read the new row afresh
            continue
        if handle is None:
            out["Body"] = b""
        else:
            out["Body"] = FileSlice(handle, blob_start(handle) + decision.start,
                                    decision.length)
        return out
    raise s3_error("InternalError", "The object changed too often while being read.", 500)


def _http_date(when) -> str:
    return objmeta._text(when)


@operation
async def get_object(ctx, bucket, key, version_id=None, part_number=None, **params):
    if part_number is not None and part_number != 1:
        raise s3_error("InvalidPartNumber", "The requested partnumber is not satisfiable", 416)
    return await _serve(ctx, bucket, key, version_id, params, with_body=True)


@operation
async def head_object(ctx, bucket, key, version_id=None, part_number=None, **params):
    if part_number is not None and part_number != 1:
        raise s3_error("InvalidPartNumber", "The requested partnumber is not satisfiable", 416)
    return await _serve(ctx, bucket, key, version_id, params, with_body=False)


def delete_one(ctx, bucket: Bucket, key: str, version_id: str | None) -> dict[str, Any]:
    """Delete a key (a delete marker in versioned buckets) or one version; the result entry."""
    check_key(key)
    if version_id is not None:
        access.authorize(ctx, "s3:DeleteObjectVersion", bucket, key)
        row = ctx.db.scalars(select(ObjectVersion).where(
            ObjectVersion.bucket == bucket.name, ObjectVersion.key == key,
            ObjectVersion.version_id == version_id)).first()
        if row is None:
            if version_id != versioning.NULL and not version_id.replace("-", "").isalnum():
                raise invalid_argument("Invalid version id specified", "versionId", version_id)
            return {"VersionId": version_id}
        versioning.remove(ctx, bucket, row)
        out = {"VersionId": row.version_id}
        if row.delete_marker:
            out["DeleteMarker"] = True
        return out
    access.authorize(ctx, "s3:DeleteObject", bucket, key)
    if bucket.versioning in versioning.STATES:
        marker = records.NewVersion(
            bucket=bucket.name, key=key, version_id=versioning.new_version_id(bucket),
            account_id=ctx.principal.account_id if ctx.principal else bucket.account_id,
            owner_arn=ctx.principal.arn if ctx.principal else "", size=0, etag="",
            blob=None, last_modified=utcnow(), delete_marker=True)
        versioning.install(ctx, bucket, marker)
        return {"DeleteMarker": True, "VersionId": marker.version_id}
    current = versioning.latest(ctx.db, bucket.name, key)
    if current is not None:
        versioning.remove(ctx, bucket, current)
    return {}


@operation
def delete_object(ctx, bucket, key, version_id=None, **_):
    row = load_bucket(ctx, bucket)
    return delete_one(ctx, row, key, version_id)


@operation
def delete_objects(ctx, bucket, delete=None, **_):
    row = load_bucket(ctx, bucket)
    entries = (delete or {}).get("Objects") or []
    if not entries or len(entries) > MAX_DELETE:
        raise malformed_xml()
    quiet = bool((delete or {}).get("Quiet"))
    deleted, failed = [], []
    for entry in entries:
        key, version_id = entry.get("Key"), entry.get("VersionId")
        if key is None:
            raise malformed_xml()
        try:
            result = delete_one(ctx, row, key, version_id)
        except Exception as exc:  # one key's failure is reported, the others go on
            code = getattr(exc, "code", "InternalError")
            failed.append({"Key": key, "Code": code,
                           "Message": getattr(exc, "message", "We encountered an internal "
                                                              "error. Please try again."),
                           **({"VersionId": version_id} if version_id else {})})
            continue
        if quiet:
            continue
        item: dict[str, Any] = {"Key": key}
        if version_id is not None:
            item["VersionId"] = version_id
            if result.get("DeleteMarker"):
                item["DeleteMarker"] = True
                item["DeleteMarkerVersionId"] = version_id
        elif result.get("DeleteMarker"):
            item["DeleteMarker"] = True
            item["DeleteMarkerVersionId"] = result["VersionId"]
        deleted.append(item)
    out: dict[str, Any] = {}
    if deleted:
        out["Deleted"] = deleted
    if failed:
        out["Errors"] = failed
    return out


def parse_copy_source(text: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) of an ``x-amz-copy-source`` header."""
    path, _, query = text.partition("?")
    path = unquote(path).lstrip("/")
    bucket, _, key = path.partition("/")
    version_id = None
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        if name == "versionId":
            version_id = unquote(value)
        else:
            raise invalid_argument("Unsupported copy source parameter.", "x-amz-copy-source",
                                   text)
    if not bucket or not key:
        raise invalid_argument("Invalid copy source object key", "x-amz-copy-source", text)
    return bucket, key, version_id


def copy_source_row(ctx, copy_source: str, params: dict) -> tuple[Bucket, ObjectVersion]:
    """The source bucket and version of a copy, authorized and its conditions checked."""
    src_bucket_name, src_key, src_version = parse_copy_source(copy_source)
    src_bucket = load_bucket(ctx, src_bucket_name)
    try:
        src = find_version(ctx, src_bucket, src_key, src_version)
    except Exception as exc:
        if getattr(exc, "code", "") == "MethodNotAllowed":
            raise invalid_request("The source of a copy request may not specifically refer "
                                  "to a delete marker by version id.") from None
        raise
    access.authorize(ctx, "s3:GetObjectVersion" if src_version else "s3:GetObject",
                     src_bucket, src)
    decide(etag=src.etag, last_modified=src.last_modified, size=src.size,
           if_match=params.get("copy_source_if_match"),
           if_none_match=params.get("copy_source_if_none_match"),
           if_modified_since=params.get("copy_source_if_modified_since"),
           if_unmodified_since=params.get("copy_source_if_unmodified_since"), read=False)
    return src_bucket, src


def md5_of_blob(store, blob: str, start: int = 0, length: int | None = None) -> str:
    digest = hashlib.md5()
    with store.open(blob) as handle:
        handle.seek(start)
        remaining = length
        while remaining is None or remaining > 0:
            data = handle.read(1 << 20 if remaining is None else min(1 << 20, remaining))
            if not data:
                break
            digest.update(data)
            if remaining is not None:
                remaining -= len(data)
    return digest.hexdigest()


def checksum_of_blob(store, blob: str, algorithm: str) -> str:
    h = checksums.hasher(algorithm)
    with store.open(blob) as handle:
        while data := handle.read(1 << 20):
            h.update(data)
    return checksums.b64(h.digest())


@operation
async def copy_object(ctx, bucket, key, copy_source, metadata_directive=None, metadata=None,
                      tagging_directive=None, tagging=None, storage_class=None,
                      checksum_algorithm=None, if_match=None, if_none_match=None, **params):
    dest = load_bucket(ctx, bucket)
    check_key(key)
    src_bucket, src = copy_source_row(ctx, copy_source, params)
    access.authorize(ctx, "s3:PutObject", dest, key)
    directive = (metadata_directive or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive",
                               metadata_directive)
    tag_directive = (tagging_directive or "COPY").upper()
    if tag_directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown tagging directive.", "x-amz-tagging-directive",
                               tagging_directive)
    algorithm = checksums.normalize_algorithm(checksum_algorithm)
    if (src_bucket.name == dest.name and src.key == key and directive == "COPY"
            and not storage_class and not algorithm and dest.versioning != "Enabled"):
        raise invalid_request("This copy request is illegal because it is trying to copy an "
                              "object to itself without changing the object's metadata, "
                              "storage class, website redirect location or encryption "
                              "attributes.")
    check_write_conditions(ctx, dest, key, if_match, if_none_match)
    if directive == "REPLACE":
        headers = objmeta.content_headers(params, ctx.extra.get("headers"))
        meta = objmeta.user_metadata(metadata)
    else:
        headers, meta = objmeta.load(src.headers), objmeta.load(src.metadata_json)
    tags = tags_json(tagging) if tag_directive == "REPLACE" else src.tags
    store = blob_store(ctx)
    loop = asyncio.get_running_loop()
    src_blob, src_etag, size = src.blob, src.etag, src.size
    release(ctx)
    if src_blob:
        new_blob = await loop.run_in_executor(None, store.copy_range, src_blob, 0, None)
    else:
        writer = store.writer()
        new_blob = writer.commit()
    try:
        etag = src_etag
        if "-" in etag and new_blob:
            etag = await loop.run_in_executor(None, md5_of_blob, store, new_blob)
        algo, value = src.checksum_algorithm, src.checksum
        if algorithm and (algorithm != algo or (value and "-" in value)):
            algo, value = algorithm, await loop.run_in_executor(
                None, checksum_of_blob, store, new_blob, algorithm)
        elif value and "-" in value:
            algo = value = None
        received = ingest.Received(new_blob, size, etag, algo, value)
        check_write_conditions(ctx, dest, key, if_match, if_none_match, lock=True)
        version = new_version(ctx, dest, key, received, headers=headers, meta=meta,
                              acl=access.initial_acl(ctx, ctx.principal.account_id, params, dest),
                              tags=tags, storage_class=storage_class or src.storage_class)
    except BaseException:
        store.delete(new_blob)
        raise
    result = {"ETag": quoted(version.etag), "LastModified": version.last_modified}
    result.update(checksums.output_members(version.checksum_algorithm, version.checksum))
    result.pop("ChecksumType", None)
    out: dict[str, Any] = {"CopyObjectResult": result, **version_members(dest, version)}
    if versioning.reports_versions(src_bucket):
        out["CopySourceVersionId"] = src.version_id
    return out
