"""Signed S3 requests, prepared before any clock starts.

``sign(server, method, bucket, key, body=b"", query="", payload=UNSIGNED)`` returns an
``S3Call``: method, path-style URL under the server's S3 endpoint, and the headers of a SigV4
signature made by botocore's ``S3SigV4Auth`` for that server's region and keys. The payload
hash placed in ``x-amz-content-sha256`` (and signed) is ``UNSIGNED-PAYLOAD`` by default, so
neither side hashes bodies for the signature; pass ``payload=sha256_hex(...)`` to sign a hash
computed in advance. The body itself is never part of the call for streamed uploads: the
caller sends it (``content_length`` sets the header).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from botocore.auth import UNSIGNED_PAYLOAD, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.peers import Server

UNSIGNED = UNSIGNED_PAYLOAD


class PayloadSigner(S3SigV4Auth):
    """S3 SigV4 whose payload hash is given, not computed from the request body."""

    def __init__(self, credentials: Credentials, region: str, payload: str):
        super().__init__(credentials, "s3", region)
        self._payload = payload

    def payload(self, request: AWSRequest) -> str:
        return self._payload


@dataclass(frozen=True)
class S3Call:
    """One signed S3 request, ready to send as is (``body`` empty for streamed uploads)."""
    action: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = field(default=b"", repr=False)

    @property
    def target(self) -> str:
        """The request target (path and query) for an HTTP/1.1 request line."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80


def sha256_hex(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def object_url(server: Server, bucket: str, key: str = "", query: str = "") -> str:
    """Path-style URL of a bucket or object under the server's S3 endpoint."""
    base = server.urls["s3"].rstrip("/")
    path = f"{base}/{quote(bucket, safe='')}"
    if key:
        path += "/" + quote(key, safe="/~")
    return path + (f"?{query}" if query else "")


def sign(server: Server, action: str, method: str, bucket: str, key: str = "",
         body: bytes = b"", query: str = "", payload: str = UNSIGNED,
         content_length: int | None = None, headers: dict[str, str] | None = None) -> S3Call:
    """An S3Call of ``method`` on bucket/key, signed for ``server``.

    ``content_length`` (default: the length of ``body``, omitted when 0 for GET/HEAD/DELETE)
    is part of the signed headers, so a streamed body must have exactly that many bytes.
    """
    url = object_url(server, bucket, key, query)
    extra = dict(headers or {})
    length = len(body) if content_length is None else content_length
    if length or method in ("PUT", "POST"):
        extra["Content-Length"] = str(length)
    request = AWSRequest(method, url, data=body, headers=extra)
    PayloadSigner(Credentials(server.access_key, server.secret_key), server.region,
                  payload).add_auth(request)
    return S3Call(action, method, url, dict(request.headers.items()), body)
