"""Browser POST uploads: ``POST /bucket`` with a ``multipart/form-data`` body.

``form_bucket(method, path, headers)`` tells the front door which requests these are;
``post_object(ctx, bucket, parts, lookup, bucket_url)`` reads the form fields that precede
the ``file`` part (at most ``MAX_FIELDS_BYTES`` in all; fields after the file are ignored, as
in S3), checks the signed policy (``post_policy``: signature, expiration, conditions; an
unsigned form is anonymous), authorizes ``s3:PutObject`` for the signer (or the anonymous
caller) through ``access.authorize``, then streams the file into a new blob — never holding it
in memory — enforcing the policy's ``content-length-range`` as the bytes arrive, and makes it
the key's newest version with the form's ``acl``, content headers and ``x-amz-meta-*``.

``parts`` is an async iterator of form parts as aiohttp's ``MultipartReader`` yields them
(``name``, ``filename``, ``headers``, ``read_chunk()``); ``lookup(key_id)`` finds a signing
credential; ``bucket_url`` is the bucket's URL as the client named it (for ``Location``).

The answer follows ``success_action_redirect`` (303 to it with bucket, key and etag added) or
``success_action_status`` (200 or 204 empty, 201 with a ``PostResponse`` document); 204 by
default. Errors are raised as S3 sends them (AccessDenied, EntityTooLarge, EntityTooSmall,
InvalidPolicyDocument, InvalidArgument, MaxPostPreDataLengthExceeded).
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Callable
from urllib.parse import quote, unquote, urlencode, urlsplit

from eucalyptus.aws.http import HttpResponse
from eucalyptus.aws.protocol.errors import request_id_headers
from eucalyptus.aws.protocol.xmlout import element
from eucalyptus.errors import ClientError
from eucalyptus.services.s3 import access, ingest, metadata, post_policy
from eucalyptus.services.s3.buckets import load_bucket
from eucalyptus.services.s3.objects import check_key, new_version, quoted
from eucalyptus.services.s3.storage import blob_store, release

MAX_FIELDS_BYTES = 20 * 1024
CHUNK = 1 << 20
_CONTENT_FIELDS = {"content-type": "content_type", "cache-control": "cache_control",
                   "content-disposition": "content_disposition",
                   "content-encoding": "content_encoding", "expires": "expires"}


def form_bucket(method: str, path: str, headers: Any) -> str | None:
    """The bucket a request uploads a browser form to: ``POST /bucket`` (path style, as the
    front door rewrote it) with a ``multipart/form-data`` body; None for any other request."""
    if method != "POST" or not headers.get("Content-Type", "").lower().startswith(
            "multipart/form-data"):
        return None
    name = path.strip("/")
    return unquote(name) if name and "/" not in name else None


def _invalid(message: str) -> ClientError:
    return ClientError("InvalidArgument", message)


class _FilePart:
    """The ``file`` part as ingest reads it, refusing more than ``limit`` bytes."""

    def __init__(self, part: Any, limit: int):
        self.part = part
        self.limit = limit
        self.size = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            data = await self.part.read_chunk(CHUNK)
            if not data:
                return
            self.size += len(data)
            if self.size > self.limit:
                raise post_policy.too_large()
            yield data


async def _read_field(part: Any, budget: int) -> str:
    data = bytearray()
    while True:
        chunk = await part.read_chunk(8192)
        if not chunk:
            break
        data += chunk
        if len(data) > budget:
            raise ClientError("MaxPostPreDataLengthExceeded", "Your POST request fields "
                              "preceding the upload file were too large.")
    return data.decode("utf-8", "replace")


async def read_fields(parts: AsyncIterator[Any]) -> tuple[dict[str, str], Any]:
    """The fields before the file (lower-case names) and the file part (None if absent)."""
    fields: dict[str, str] = {}
    used = 0
    async for part in parts:
        name = (part.name or "").lower()
        if name == "file":
            return fields, part
        value = await _read_field(part, MAX_FIELDS_BYTES - used)
        used += len(value.encode())
        fields.setdefault(name, value)
    return fields, None


def _redirect_target(fields: dict[str, str]) -> str | None:
    url = fields.get("success_action_redirect") or fields.get("redirect")
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


def _response(ctx, fields: dict[str, str], bucket: str, key: str, etag: str,
              bucket_url: str) -> HttpResponse:
    location = f"{bucket_url.rstrip('/')}/{quote(key, safe='/')}"
    headers = {**request_id_headers(ctx.request_id, s3_style=True), "ETag": quoted(etag),
               "Location": location}
    target = _redirect_target(fields)
    if target:
        query = urlencode({"bucket": bucket, "key": key, "etag": quoted(etag)})
        headers["Location"] = f"{target}{'&' if '?' in target else '?'}{query}"
        return HttpResponse(303, headers, b"")
    status = fields.get("success_action_status", "204")
    if status == "201":
        headers["Content-Type"] = "application/xml"
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
                + element("Location", location) + element("Bucket", bucket)
                + element("Key", key) + element("ETag", quoted(etag)) + "</PostResponse>")
        return HttpResponse(201, headers, body.encode())
    return HttpResponse(200 if status == "200" else 204, headers, b"")


async def post_object(ctx, bucket: str, parts: AsyncIterator[Any],
                      lookup: Callable[[str], Any], bucket_url: str) -> HttpResponse:
    """Serve one browser POST upload (see the module docstring)."""
    fields, file_part = await read_fields(parts)
    cred = post_policy.verify(fields, lookup)
    low, high = 0, post_policy.MAX_SIZE
    if cred is not None:
        ctx.principal = cred.principal
        low, high = post_policy.decode(fields["policy"]).check(fields, bucket)
    if "key" not in fields:
        raise _invalid("Bucket POST must contain a field named 'key'.  If it is specified, "
                       "please check the order of the fields.")
    if file_part is None:
        raise _invalid("POST requires exactly one file upload per request.")
    key = fields["key"].replace("${filename}", file_part.filename or "")
    check_key(key)
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:PutObject", row, key)
    params = {param: fields[name] for name, param in _CONTENT_FIELDS.items() if name in fields}
    if "content_type" not in params and file_part.headers.get("Content-Type"):
        params["content_type"] = file_part.headers["Content-Type"]
    headers = metadata.content_headers(params)
    meta = metadata.user_metadata({name[len("x-amz-meta-"):]: value
                                   for name, value in fields.items()
                                   if name.startswith("x-amz-meta-")})
    owner = ctx.principal.account_id if ctx.principal else row.account_id
    acl = access.initial_acl(ctx, owner, {"ACL": fields["acl"]} if "acl" in fields else {},
                             row)
    release(ctx)
    source = _FilePart(file_part, high)
    received = await ingest.receive(blob_store(ctx), source)
    try:
        if received.size < low:
            raise post_policy.too_small()
        version = new_version(ctx, row, key, received, headers=headers, meta=meta, acl=acl)
    except BaseException:
        blob_store(ctx).delete(received.blob)
        raise
    return _response(ctx, fields, bucket, key, version.etag, bucket_url)
