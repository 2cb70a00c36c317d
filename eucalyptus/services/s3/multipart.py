"""Multipart uploads: Create, UploadPart, UploadPartCopy, ListParts, ListMultipartUploads,
Complete and Abort.

Each part is its own blob until completion; CompleteMultipartUpload concatenates the chosen
parts' blobs into the object's blob in the kernel (``copy_file_range``), never through memory.
The ETag is the MD5 of the parts' binary MD5s followed by ``-<parts>``; every part but the last
must hold at least 5 MiB (EntityTooSmall).
"""
from __future__ import annotations

import asyncio
import binascii
import hashlib
import secrets
from typing import Any

from sqlalchemy import and_, or_, select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.objects import Bucket, Part, Upload
from eucalyptus.db.schema import utcnow
from eucalyptus.services.s3 import access, checksums, ingest
from eucalyptus.services.s3 import metadata as objmeta
from eucalyptus.services.s3.buckets import load_bucket, owner_of
from eucalyptus.services.s3.errors import (invalid_argument, invalid_request, malformed_xml,
                                           no_such_upload, s3_error)
from eucalyptus.services.s3.objects import (md5_of_blob, tags_json, check_key,
                                            copy_source_row, new_version, quoted,
                                            version_members)
from eucalyptus.services.s3.preconditions import parse_range
from eucalyptus.services.s3.storage import (blob_store, defer_blob_delete, lock_key, release,
                                            release_before)

MIN_PART = 5 << 20
MAX_PART_NUMBER = 10000
MAX_LISTED = 1000


def _upload(ctx, bucket: Bucket, key: str, upload_id: str) -> Upload:
    upload = ctx.db.get(Upload, upload_id) if upload_id else None
    if upload is None or upload.bucket != bucket.name or upload.key != key:
        raise no_such_upload(upload_id)
    return upload


def _part_number(value: Any) -> int:
    if value is None or not 1 <= int(value) <= MAX_PART_NUMBER:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive",
                               "partNumber", value)
    return int(value)


@operation
def create_multipart_upload(ctx, bucket, key, metadata=None, checksum_algorithm=None,
                            checksum_type=None, storage_class=None, tagging=None, **params):
    row = load_bucket(ctx, bucket)
    check_key(key)
    access.authorize(ctx, "s3:PutObject", row, key)
    algorithm = checksums.normalize_algorithm(checksum_algorithm)
    if checksum_type == "FULL_OBJECT":
        raise invalid_request("The FULL_OBJECT checksum type is not supported; use COMPOSITE.")
    upload = Upload(upload_id=secrets.token_urlsafe(48), bucket=bucket, key=key,
                    account_id=ctx.principal.account_id if ctx.principal else row.account_id,
                    initiator_arn=ctx.principal.arn if ctx.principal else "",
                    headers=objmeta.dump(objmeta.content_headers(params,
                                                                 ctx.extra.get("headers"))),
                    metadata_json=objmeta.dump(objmeta.user_metadata(metadata)),
                    checksum_algorithm=algorithm, storage_class=storage_class or "STANDARD",
                    acl=access.initial_acl(ctx, ctx.principal.account_id if ctx.principal
                                           else row.account_id, params, row),
                    tags=tags_json(tagging))
    ctx.db.add(upload)
    out = {"Bucket": bucket, "Key": key, "UploadId": upload.upload_id}
    if algorithm:
        out["ChecksumAlgorithm"] = algorithm
        out["ChecksumType"] = "COMPOSITE"
    return out


def _store_part(ctx, upload_id: str, number: int, received: ingest.Received) -> Part:
    lock_key(ctx.db, "upload", upload_id)
    if ctx.db.get(Upload, upload_id, populate_existing=True) is None:
        raise no_such_upload(upload_id)
    old = ctx.db.get(Part, (upload_id, number), populate_existing=True)
    if old is not None:
        defer_blob_delete(ctx, old.blob)
        ctx.db.delete(old)
        ctx.db.flush()
    part = Part(upload_id=upload_id, part_number=number, size=received.size,
                etag=received.etag, blob=received.blob, last_modified=utcnow(),
                checksum_algorithm=received.checksum_algorithm, checksum=received.checksum)
    ctx.db.add(part)
    ctx.db.flush()
    return part


@operation
async def upload_part(ctx, bucket, key, upload_id, part_number, body=None, content_md5=None,
                      **params):
    row = load_bucket(ctx, bucket)
    number = _part_number(part_number)
    upload = _upload(ctx, row, key, upload_id)
    access.authorize(ctx, "s3:PutObject", row, key)
    checksums.validate_content_md5(content_md5)
    expected = checksums.Expectation.from_params(
        params, ctx.extra.get("headers", {}).get("x-amz-trailer"), upload.checksum_algorithm)
    if upload.checksum_algorithm and expected.algorithm != upload.checksum_algorithm:
        raise invalid_request(f"Checksum Type mismatch occurred, expected checksum Type: "
                              f"{upload.checksum_algorithm.lower()}, actual checksum Type: "
                              f"{(expected.algorithm or 'null').lower()}")
    release_before(ctx, body)
    received = await ingest.receive(blob_store(ctx), body, content_md5=content_md5,
                                    expected=expected)
    try:
        _store_part(ctx, upload_id, number, received)
    except BaseException:
        blob_store(ctx).delete(received.blob)
        raise
    out = {"ETag": quoted(received.etag)}
    out.update(checksums.output_members(received.checksum_algorithm, received.checksum))
    out.pop("ChecksumType", None)
    return out


@operation
async def upload_part_copy(ctx, bucket, key, upload_id, part_number, copy_source,
                           copy_source_range=None, **params):
    row = load_bucket(ctx, bucket)
    number = _part_number(part_number)
    upload = _upload(ctx, row, key, upload_id)
    access.authorize(ctx, "s3:PutObject", row, key)
    src_bucket, src = copy_source_row(ctx, copy_source, params)
    start, length = 0, src.size
    if copy_source_range is not None:
        if not copy_source_range.startswith("bytes=") or "-" not in copy_source_range or \
                copy_source_range.strip().endswith("-") or "=-" in copy_source_range:
            raise invalid_argument("The x-amz-copy-source-range value must be of the form "
                                   "bytes=first-last where first and last are the zero-based "
                                   "offsets of the first and last bytes to copy",
                                   "x-amz-copy-source-range", copy_source_range)
        first, _, last = copy_source_range[6:].partition("-")
        if int(last) >= src.size or int(first) > int(last):
            raise invalid_request(f"The specified copy range is invalid for the source object "
                                  f"size: {src.size}")
        chosen = parse_range(copy_source_range, src.size)
        if chosen is not None:
            start, length = chosen
    store = blob_store(ctx)
    loop = asyncio.get_running_loop()
    src_blob = src.blob
    release(ctx)
    if src_blob:
        blob = await loop.run_in_executor(None, store.copy_range, src_blob, start, length)
        etag = await loop.run_in_executor(None, md5_of_blob, store, blob)
    else:
        blob, etag = store.writer().commit(), hashlib.md5(b"").hexdigest()
    checksum = None
    if upload.checksum_algorithm:
        h = checksums.hasher(upload.checksum_algorithm)
        with store.open(blob) as handle:
            while data := handle.read(1 << 20):
                h.update(data)
        checksum = checksums.b64(h.digest())
    received = ingest.Received(blob, length, etag, upload.checksum_algorithm, checksum)
    try:
        part = _store_part(ctx, upload_id, number, received)
    except BaseException:
        store.delete(blob)
        raise
    result = {"ETag": quoted(etag), "LastModified": part.last_modified}
    result.update(checksums.output_members(received.checksum_algorithm, checksum))
    result.pop("ChecksumType", None)
    out: dict[str, Any] = {"CopyPartResult": result}
    if src_bucket.versioning:
        out["CopySourceVersionId"] = src.version_id
    return out


def _chosen_parts(ctx, upload: Upload, requested: list[dict]) -> list[Part]:
    if not requested:
        raise malformed_xml()
    stored = {p.part_number: p for p in ctx.db.scalars(
        select(Part).where(Part.upload_id == upload.upload_id))}
    chosen, previous = [], 0
    for item in requested:
        number = item.get("PartNumber")
        if number is None or number <= previous:
            raise s3_error("InvalidPartOrder", "The list of parts was not in ascending order. "
                           "Parts must be ordered by part number.", 400,
                           UploadId=upload.upload_id)
        previous = number
        part = stored.get(number)
        etag = (item.get("ETag") or "").strip().strip('"')
        if part is None or etag != part.etag:
            raise s3_error("InvalidPart", "One or more of the specified parts could not be "
                           "found. The part may not have been uploaded, or the specified "
                           "entity tag may not match the part's entity tag.", 400,
                           UploadId=upload.upload_id, PartNumber=number, ETag=etag)
        if upload.checksum_algorithm:
            given = item.get(checksums.MEMBERS[upload.checksum_algorithm])
            if given is not None and given != part.checksum:
                raise s3_error("InvalidPart", "One or more of the specified parts could not be "
                               "found. The checksum did not match.", 400,
                               UploadId=upload.upload_id, PartNumber=number)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART:
            raise s3_error("EntityTooSmall", "Your proposed upload is smaller than the minimum "
                           "allowed object size.", 400, ProposedSize=part.size,
                           MinSizeAllowed=MIN_PART, PartNumber=part.part_number,
                           ETag=part.etag)
    return chosen


@operation
async def complete_multipart_upload(ctx, bucket, key, upload_id, multipart_upload=None,
                                    if_match=None, if_none_match=None, **_):
    from eucalyptus.services.s3.objects import check_write_conditions

    row = load_bucket(ctx, bucket)
    upload = _upload(ctx, row, key, upload_id)
    access.authorize(ctx, "s3:PutObject", row, key)
    chosen = _chosen_parts(ctx, upload, (multipart_upload or {}).get("Parts") or [])
    check_write_conditions(ctx, row, key, if_match, if_none_match)
    md5s = b"".join(binascii.unhexlify(p.etag) for p in chosen)
    etag = f"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}"
    checksum = None
    if upload.checksum_algorithm:
        checksum = checksums.composite(upload.checksum_algorithm,
                                       [p.checksum or "" for p in chosen])
    store = blob_store(ctx)
    blobs = [p.blob for p in chosen]
    size = sum(p.size for p in chosen)
    release(ctx)
    blob = await asyncio.get_running_loop().run_in_executor(None, store.concatenate, blobs)
    try:
        lock_key(ctx.db, "upload", upload_id)
        upload = ctx.db.get(Upload, upload_id, populate_existing=True)
        if upload is None:
            raise no_such_upload(upload_id)
        check_write_conditions(ctx, row, key, if_match, if_none_match, lock=True)
        received = ingest.Received(blob, size, etag, upload.checksum_algorithm, checksum)
        version = new_version(ctx, row, key, received, headers=objmeta.load(upload.headers),
                              meta=objmeta.load(upload.metadata_json), acl=upload.acl,
                              tags=upload.tags, checksum_type="COMPOSITE" if checksum else None,
                              parts_count=len(chosen), storage_class=upload.storage_class)
        for part in ctx.db.scalars(select(Part).where(Part.upload_id == upload_id)):
            defer_blob_delete(ctx, part.blob)
        ctx.db.delete(upload)
    except BaseException:
        store.delete(blob)
        raise
    out = {"Location": f"{ctx.scheme}://{ctx.host}/{bucket}/{key}", "Bucket": bucket,
           "Key": key, "ETag": quoted(etag), **version_members(row, version)}
    out.update(checksums.output_members(upload.checksum_algorithm, checksum, "COMPOSITE"))
    return out


@operation
def abort_multipart_upload(ctx, bucket, key, upload_id, **_):
    row = load_bucket(ctx, bucket)
    upload = _upload(ctx, row, key, upload_id)
    access.authorize(ctx, "s3:AbortMultipartUpload", row, key)
    lock_key(ctx.db, "upload", upload_id)
    for part in ctx.db.scalars(select(Part).where(Part.upload_id == upload_id)):
        defer_blob_delete(ctx, part.blob)
    ctx.db.delete(upload)
    return {}


def _initiator(ctx, upload: Upload) -> dict[str, str]:
    owner = owner_of(ctx, upload.account_id)
    return {"ID": upload.initiator_arn or owner["ID"], "DisplayName": owner["DisplayName"]}


@operation
def list_parts(ctx, bucket, key, upload_id, max_parts=None, part_number_marker=None, **_):
    row = load_bucket(ctx, bucket)
    upload = _upload(ctx, row, key, upload_id)
    access.authorize(ctx, "s3:ListMultipartUploadParts", row, key)
    limit = MAX_LISTED if max_parts is None else max(0, min(int(max_parts), MAX_LISTED))
    marker = int(part_number_marker or 0)
    parts = list(ctx.db.scalars(select(Part).where(
        Part.upload_id == upload_id, Part.part_number > marker)
        .order_by(Part.part_number).limit(limit + 1)))
    truncated = len(parts) > limit
    parts = parts[:limit]
    out: dict[str, Any] = {
        "Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumberMarker": marker,
        "MaxParts": limit, "IsTruncated": truncated,
        "Initiator": _initiator(ctx, upload), "Owner": owner_of(ctx, upload.account_id),
        "StorageClass": upload.storage_class,
        "Parts": [{"PartNumber": p.part_number, "LastModified": p.last_modified,
                   "ETag": quoted(p.etag), "Size": p.size,
                   **checksums.output_members(p.checksum_algorithm, p.checksum)}
                  for p in parts]}
    for part in out["Parts"]:
        part.pop("ChecksumType", None)
    if parts:
        out["NextPartNumberMarker"] = parts[-1].part_number
    if upload.checksum_algorithm:
        out["ChecksumAlgorithm"] = upload.checksum_algorithm
    return out


@operation
def list_multipart_uploads(ctx, bucket, prefix=None, delimiter=None, key_marker=None,
                           upload_id_marker=None, max_uploads=None, encoding_type=None, **_):
    from eucalyptus.services.s3.listing import _encoder

    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:ListBucketMultipartUploads", row)
    encode = _encoder(encoding_type)
    limit = MAX_LISTED if max_uploads is None else max(0, min(int(max_uploads), MAX_LISTED))
    query = select(Upload).where(Upload.bucket == bucket)
    if prefix:
        query = query.where(Upload.key >= prefix)
    if key_marker:
        if upload_id_marker:
            query = query.where(or_(Upload.key > key_marker,
                                    and_(Upload.key == key_marker,
                                         Upload.upload_id > upload_id_marker)))
        else:
            query = query.where(Upload.key > key_marker)
    uploads, prefixes, truncated, last = [], [], False, None
    for upload in ctx.db.scalars(query.order_by(Upload.key, Upload.upload_id)):
        if prefix and not upload.key.startswith(prefix):
            break
        common = None
        if delimiter:
            cut = upload.key.find(delimiter, len(prefix or ""))
            if cut >= 0:
                common = upload.key[:cut + len(delimiter)]
                if prefixes and prefixes[-1] == common:
                    continue
        if len(uploads) + len(prefixes) >= limit:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
            last = (common, None)
            continue
        uploads.append({"UploadId": upload.upload_id, "Key": encode(upload.key),
                        "Initiated": upload.created_at, "StorageClass": upload.storage_class,
                        "Owner": owner_of(ctx, upload.account_id),
                        "Initiator": _initiator(ctx, upload),
                        **({"ChecksumAlgorithm": upload.checksum_algorithm}
                           if upload.checksum_algorithm else {})})
        last = (upload.key, upload.upload_id)
    out: dict[str, Any] = {"Bucket": bucket, "KeyMarker": encode(key_marker or ""),
                           "UploadIdMarker": upload_id_marker or "", "MaxUploads": limit,
                           "IsTruncated": truncated, "Uploads": uploads,
                           "CommonPrefixes": [{"Prefix": encode(p)} for p in prefixes],
                           "Prefix": encode(prefix or "")}
    if delimiter:
        out["Delimiter"] = encode(delimiter)
    if truncated and last is not None:
        out["NextKeyMarker"] = encode(last[0])
        if last[1]:
            out["NextUploadIdMarker"] = last[1]
    if encoding_type:
        out["EncodingType"] = encoding_type
    return out
