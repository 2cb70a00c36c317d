"""Receiving an upload's bytes into a new blob, hashing them on the way.

``receive(store, body, ...)`` streams a request body (a ``PayloadReader``, or ``bytes``) into
a blob writer in batches of up to ``BATCH`` bytes, computing MD5 (the ETag) and the requested
checksum. A full batch is hashed in one worker thread and written in another while the next
batch arrives (hashlib, zlib and os.write release the GIL), so a large upload keeps one core
hashing while the loop receives and the kernel copies into the page cache beside it. Each
batch is handed over, never copied, and nothing beyond two batches is ever held in memory.
The blob is committed (durable) only once every check has passed; on any failure the partial
blob is discarded. On a request thread of its own (see ``walrus.offload``) the commit's fsync
runs inline; on a process' main loop, in a thread.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from eucalyptus.drivers.objects.base import BlobStore, BlobWriter
from eucalyptus.services.s3.checksums import Digests, Expectation

BATCH = 1 << 20          # bytes handed to the hashing thread at a time
INLINE_LIMIT = 256 << 10  # bodies up to this size are hashed and written inline


@dataclass
class Received:
    blob: str
    size: int
    etag: str                       # hex MD5, unquoted
    checksum_algorithm: str | None
    checksum: str | None


def _absorb(writer: BlobWriter, digests: Digests, data) -> None:
    digests.update(data)
    writer.write(data)


async def _settle(*futures: asyncio.Future | None) -> None:
    """Wait for every given future, ignoring their errors (the caller is failing already)."""
    for future in futures:
        if future is not None:
            try:
                await future
            except BaseException:
                pass


async def receive(store: BlobStore, body: Any, *, content_md5: str | None = None,
                  expected: Expectation | None = None) -> Received:
    """Stream ``body`` into a new blob; BadDigest & co. when it does not match."""
    expected = expected or Expectation()
    digests = Digests(expected.algorithm)
    writer = store.writer()
    loop = asyncio.get_running_loop()
    hashing: asyncio.Future | None = None
    writing: asyncio.Future | None = None
    trailers: dict[str, str] = {}
    try:
        if body is None or isinstance(body, (bytes, bytearray, memoryview)):
            _absorb(writer, digests, body or b"")
        else:
            batch = bytearray()
            async for data in body.chunks():
                batch += data
                if len(batch) >= BATCH:
                    if hashing is not None:
                        await hashing
                    if writing is not None:
                        await writing
                    hashing = loop.run_in_executor(None, digests.update, batch)
                    writing = loop.run_in_executor(None, writer.write, batch)
                    batch = bytearray()          # the full one now belongs to the threads
            if hashing is not None:
                await hashing
                hashing = None
            if writing is not None:
                await writing
                writing = None
            if batch:
                if writer.size + len(batch) > INLINE_LIMIT:
                    await loop.run_in_executor(None, _absorb, writer, digests, batch)
                else:
                    _absorb(writer, digests, batch)
            trailers = getattr(body, "trailers", {})
        digests.verify(content_md5, expected, trailers)
        if threading.current_thread() is threading.main_thread():
            blob = await loop.run_in_executor(None, writer.commit)   # fsync off the loop
        else:     # a request thread (walrus.offload): its loop serves this request alone
            blob = writer.commit()
    except BaseException:
        await _settle(hashing, writing)
        writer.abort()
        raise
    return Received(blob, writer.size, digests.etag, expected.algorithm, digests.checksum)
