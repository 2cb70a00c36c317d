"""How the cloud controller reads an image's manifest (or disk object) from Walrus.

The CLC reads *as the caller*: it presigns an S3 ``GET``/``HEAD`` with the access key that
signed the RegisterImage request (the CLC holds that key's secret, having just verified the
signature) and fetches the URL over HTTP. Walrus therefore applies its own access control, so
an image can only be registered from objects the caller may read, and the CLC never needs a
privileged path into Walrus. A presigned URL lives ``EXPIRES_S`` seconds.

``ObjectReader`` is the interface the RegisterImage handler uses; tests give the handler any
object with the same two coroutines (``component.object_reader(ctx)`` when the component has
it, else ``PresignedReader.for_request(ctx)``).
"""
from __future__ import annotations

from typing import Protocol

import aiohttp
import botocore.session
from botocore.config import Config

EXPIRES_S = 300
MAX_MANIFEST = 16 * 1024 * 1024


class ObjectMissing(Exception):
    """No such bucket or key."""


class ObjectForbidden(Exception):
    """The object exists (or may) but the reader may not read it."""


class ObjectReader(Protocol):
    async def get(self, bucket: str, key: str, limit: int = MAX_MANIFEST) -> bytes: ...
    async def size(self, bucket: str, key: str) -> int: ...
    async def head(self, bucket: str, key: str) -> tuple[int, str]: ...
    async def first_bytes(self, bucket: str, key: str, count: int) -> bytes: ...


class PresignedReader:
    """Reads objects through presigned S3 URLs signed with one access key."""

    def __init__(self, endpoint: str, region: str, access_key: str, secret_key: str,
                 token: str | None = None, timeout: float = 30.0):
        self.endpoint = endpoint
        self.timeout = timeout
        session = botocore.session.Session()
        self._s3 = session.create_client(
            "s3", region_name=region, endpoint_url=endpoint, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, aws_session_token=token,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    @classmethod
    def for_request(cls, ctx) -> "PresignedReader":
        """A reader signing with the key of ``ctx``'s request, aimed at the cloud's Walrus."""
        from eucalyptus.services.iam import identity
        cred = identity.lookup_credentials(ctx.db, ctx.principal.access_key_id)
        if cred is None:
            raise ObjectForbidden("the request's access key is unknown")
        endpoint = ctx.settings.service_urls()["s3"]
        return cls(endpoint, ctx.region or "eucalyptus", ctx.principal.access_key_id,
                   cred.secret, cred.session_token)

    def url(self, method: str, bucket: str, key: str) -> str:
        action = "get_object" if method == "GET" else "head_object"
        return self._s3.generate_presigned_url(action, Params={"Bucket": bucket, "Key": key},
                                               ExpiresIn=EXPIRES_S)

    async def _request(self, method: str, bucket: str, key: str, limit: int,
                       headers: dict | None = None) -> tuple[int, bytes, str]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.request(method, self.url(method, bucket, key),
                                        headers=headers) as resp:
                    _raise_for(resp.status, bucket, key)
                    etag = resp.headers.get("ETag", "").strip('"')
                    if method == "HEAD":
                        return int(resp.headers.get("Content-Length", "0")), b"", etag
                    body = await resp.content.read(limit + 1)
                    if len(body) > limit and not headers:
                        raise ObjectForbidden(f"{bucket}/{key} is larger than {limit} bytes")
                    return len(body), body, etag
        except aiohttp.ClientError as exc:
            raise ObjectMissing(f"object storage is unreachable: {exc}") from None

    async def get(self, bucket: str, key: str, limit: int = MAX_MANIFEST) -> bytes:
        return (await self._request("GET", bucket, key, limit))[1]

    async def size(self, bucket: str, key: str) -> int:
        return (await self._request("HEAD", bucket, key, 0))[0]

    async def head(self, bucket: str, key: str) -> tuple[int, str]:
        """(size, ETag without quotes) of the object."""
        size, _body, etag = await self._request("HEAD", bucket, key, 0)
        return size, etag

    async def first_bytes(self, bucket: str, key: str, count: int) -> bytes:
        """The first ``count`` bytes of the object (fewer when it is shorter)."""
        body = (await self._request("GET", bucket, key, count,
                                    {"Range": f"bytes=0-{count - 1}"}))[1]
        return body[:count]


def _raise_for(status: int, bucket: str, key: str) -> None:
    if status in (200, 206):
        return
    if status in (401, 403):
        raise ObjectForbidden(f"not allowed to read {bucket}/{key}")
    raise ObjectMissing(f"{bucket}/{key} could not be read (HTTP {status})")
