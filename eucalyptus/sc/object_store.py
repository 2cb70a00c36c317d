"""The storage controller's way into Walrus: S3 requests signed as the cloud administrator.

Snapshots belong to the cloud, not to a user, so the SC keeps them in a bucket of the cloud
account (SC_SNAPSHOT_BUCKET, made on first use) and signs its S3 requests with the cloud
admin's access key, read from the data directory's ``credentials/eucarc`` (written by
``eucalyptus init``; the same key the starter-image installer and the CLC's image reader use).
An SC on another host is given a copy of that file with the data directory's keys. The S3
endpoint is taken from the settings (WALRUS_HOST/WALRUS_PORT), so a changed port is followed.

Requests are plain aiohttp calls signed with botocore's SigV4 signer and an unsigned payload:
the bodies are chunks whose SHA-256 the snapshot manifest records and the restore verifies,
so neither side hashes them twice. A body is at most one chunk; nothing larger is buffered.
"""
from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Callable
from urllib.parse import quote, urlencode

import aiohttp
from botocore.auth import UNSIGNED_PAYLOAD, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eucalyptus.config import Settings
from eucalyptus.credentials import parse_eucarc

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class ObjectStoreError(Exception):
    """Walrus answered an error or could not be reached."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class ObjectMissing(ObjectStoreError):
    pass


class _UnsignedPayload(S3SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return UNSIGNED_PAYLOAD


class SnapshotObjects:
    """Objects of one bucket in Walrus, signed with the keys ``load_keys()`` returns
    (access key, secret, region); they are loaded at first use and again once after a 403,
    so a rotated admin key is picked up."""

    def __init__(self, endpoint: str, load_keys: Callable[[], tuple[str, str, str]],
                 bucket: str, connections: int = 8, timeout: float = 300.0):
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self._load_keys = load_keys
        self._signer: S3SigV4Auth | None = None
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None
        self._bucket_ready = False

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str) -> "SnapshotObjects":
        """The store of ``bucket`` signed with the cloud admin's key from DIR/credentials."""
        path = settings.path("credentials", "eucarc")

        def load_keys() -> tuple[str, str, str]:
            try:
                env = parse_eucarc(path.read_text())
                return (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                        env.get("AWS_DEFAULT_REGION") or settings.region)
            except (OSError, KeyError) as exc:
                raise ObjectStoreError(
                    f"no cloud credentials for Walrus in {path} ({exc!r})") from None

        return cls(settings.service_urls()["s3"], load_keys, bucket)

    @classmethod
    def with_keys(cls, endpoint: str, access_key: str, secret_key: str, region: str,
                  bucket: str) -> "SnapshotObjects":
        return cls(endpoint, lambda: (access_key, secret_key, region), bucket)

    def _url(self, key: str = "", query: dict[str, str] | None = None) -> str:
        url = f"{self.endpoint}/{quote(self.bucket, safe='')}"
        if key:
            url += "/" + quote(key, safe="/~")
        if query:
            url += "?" + urlencode(sorted(query.items()), quote_via=quote)
        return url

    def _headers(self, method: str, url: str, length: int | None) -> dict[str, str]:
        headers = {}
        if length is not None:
            headers["Content-Length"] = str(length)
        if self._signer is None:
            access_key, secret_key, region = self._load_keys()
            self._signer = _UnsignedPayload(Credentials(access_key, secret_key), "s3", region)
        request = AWSRequest(method=method, url=url, headers=headers)
        self._signer.add_auth(request)
        return dict(request.headers.items())

    async def _call(self, method: str, key: str = "", body: bytes | memoryview | None = None,
                    query: dict[str, str] | None = None, limit: int = 1 << 20) -> bytes:
        try:
            return await self._send(method, key, body, query, limit)
        except ObjectStoreError as exc:
            if exc.status != 403:
                raise
            self._signer = None                    # the admin key may have changed
            return await self._send(method, key, body, query, limit)

    async def _send(self, method: str, key: str, body: bytes | memoryview | None,
                    query: dict[str, str] | None, limit: int) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._connections))
        url = self._url(key, query)
        length = len(body) if body is not None else (0 if method == "PUT" else None)
        headers = self._headers(method, url, length)
        try:
            async with self._session.request(method, url, data=body, headers=headers,
                                             skip_auto_headers=("Content-Type",)) as resp:
                if resp.status == 404:
                    raise ObjectMissing(f"{self.bucket}/{key} not found", 404)
                if resp.status >= 300:
                    text = (await resp.content.read(2000)).decode(errors="replace")
                    raise ObjectStoreError(
                        f"{method} {self.bucket}/{key}: HTTP {resp.status} {text}", resp.status)
                if resp.content_length is not None and resp.content_length > limit:
                    raise ObjectStoreError(f"{self.bucket}/{key} is larger than {limit} bytes")
                data = await resp.read()
                if len(data) > limit:
                    raise ObjectStoreError(f"{self.bucket}/{key} is larger than {limit} bytes")
                return data
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise ObjectStoreError(f"Walrus is unreachable at {self.endpoint}: "
                                   f"{exc or type(exc).__name__}") from None

    async def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        try:
            await self._call("PUT")
        except ObjectStoreError as exc:
            if exc.status != 409:          # BucketAlreadyOwnedByYou: made before
                raise
        self._bucket_ready = True

    async def put(self, key: str, body: bytes | memoryview) -> None:
        await self.ensure_bucket()
        await self._call("PUT", key, body=body)

    async def get(self, key: str, limit: int) -> bytes:
        return await self._call("GET", key, limit=limit)

    async def delete(self, key: str) -> None:
        try:
            await self._call("DELETE", key)
        except ObjectMissing:
            pass

    async def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (ListObjectsV2, all pages)."""
        out: list[str] = []
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            try:
                raw = await self._call("GET", query=query, limit=16 << 20)
            except ObjectMissing:
                return out
            root = ET.fromstring(raw)
            out += [el.text or "" for el in root.iter(f"{S3_NS}Key")]
            token = root.findtext(f"{S3_NS}NextContinuationToken") or ""
            if root.findtext(f"{S3_NS}IsTruncated") != "true" or not token:
                return out

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
