"""Receiving an upload's bytes into a new blob, hashing them on the way.

``receive(store, body, ...)`` streams a request body (a ``PayloadReader``, or ``bytes``) into
a blob writer, computing MD5 (the ETag) and the requested checksum. A body of less than
``BATCH`` bytes is gathered, then hashed, checked, written and committed in one call on a
worker thread (no file is created for a body that fails its checks). The buffers a longer
body yields are gathered, uncopied, into batches of at least ``BATCH`` bytes; a full batch is
hashed for MD5 in one worker thread, for the additional checksum (if any) in a second, and
written in a third, while the loop goes on receiving the next batch (hashlib, zlib, crc32c and
os.write release the GIL), so hashing, receiving and the kernel's copy into the page cache
overlap on both cores. Nothing beyond two batches is ever held in memory. The blob is
committed (durable) only once every check has passed; on any failure the partial blob is
discarded. On a request thread of its own (see ``walrus.offload``) the commit's fsync runs
inline; on a process' main loop, in a thread.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping

from eucalyptus.drivers.objects.base import BlobStore, BlobWriter
from eucalyptus.services.s3.checksums import Digests, Expectation

BATCH = 4 << 20          # bytes handed to the hashing threads at a time


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


def _absorb_all(writer: BlobWriter, digests: Digests, pieces: list) -> None:
    for piece in pieces:
        _absorb(writer, digests, piece)


def _hash_all(hasher: Any, pieces: list) -> None:
    for piece in pieces:
        hasher.update(piece)


def _write_all(writer: BlobWriter, pieces: list) -> None:
    for piece in pieces:
        writer.write(piece)


async def _settle(*futures: asyncio.Future | None) -> None:
    """Wait for every given future, ignoring their errors (the caller is failing already)."""
    for future in futures:
        if future is not None:
            try:
                await future
            except BaseException:
                pass


def _store_whole(store: BlobStore, digests: Digests, pieces: list, content_md5: str | None,
                 expected: Expectation, trailers: Mapping[str, str]) -> tuple[str, int]:
    """Hash and check a body held whole in memory, then write it durably: (blob id, size)."""
    for piece in pieces:
        digests.update(piece)
    digests.verify(content_md5, expected, trailers)
    writer = store.writer()
    try:
        _write_all(writer, pieces)
        return writer.commit(), writer.size
    except BaseException:
        writer.abort()
        raise


async def _stream_rest(store: BlobStore, digests: Digests, pieces: list, batched: int,
                       chunks: AsyncIterator, content_md5: str | None,
                       expected: Expectation, body: Any) -> tuple[str, int]:
    """Write a body too big to hold: the batches gathered so far, then the rest as it comes,
    each hashed and written on worker threads while the next arrives."""
    loop = asyncio.get_running_loop()
    writer = store.writer()
    pending: list[asyncio.Future] = []       # the threads' work on the previous batch
    try:
        while True:
            if batched >= BATCH:
                for future in pending:
                    await future
                pending = [loop.run_in_executor(None, _hash_all, digests.md5, pieces),
                           loop.run_in_executor(None, _write_all, writer, pieces)]
                if digests.extra is not None:
                    pending.append(loop.run_in_executor(None, _hash_all, digests.extra,
                                                        pieces))
                pieces, batched = [], 0          # the full batch now belongs to the threads
            data = await anext(chunks, None)
            if data is None:
                break
            pieces.append(data)
            batched += len(data)
        for future in pending:
            await future
        pending = []
        if pieces:
            await loop.run_in_executor(None, _absorb_all, writer, digests, pieces)
        digests.verify(content_md5, expected, getattr(body, "trailers", {}))
        if threading.current_thread() is threading.main_thread():
            blob = await loop.run_in_executor(None, writer.commit)   # fsync off the loop
        else:     # a request thread (walrus.offload): its loop serves this request alone
            blob = writer.commit()
        return blob, writer.size
    except BaseException:
        await _settle(*pending)
        writer.abort()
        raise


async def receive(store: BlobStore, body: Any, *, content_md5: str | None = None,
                  expected: Expectation | None = None) -> Received:
    """Stream ``body`` into a new blob; BadDigest & co. when it does not match.

    A body that ends within ``BATCH`` bytes is gathered, then created, hashed, checked and
    committed in one go: on a worker thread from a process' main loop (one thread hop, no
    file creation or fsync on the loop), inline on a request thread (``walrus.offload``).
    A longer one streams (``_stream_rest``)."""
    expected = expected or Expectation()
    digests = Digests(expected.algorithm)
    if body is None or isinstance(body, (bytes, bytearray, memoryview)):
        pieces, trailers = ([body] if body else []), {}
    else:
        chunks = body.chunks().__aiter__()
        pieces, batched = [], 0
        async for data in chunks:
            pieces.append(data)
            batched += len(data)
            if batched >= BATCH:
                blob, size = await _stream_rest(store, digests, pieces, batched, chunks,
                                                content_md5, expected, body)
                return Received(blob, size, digests.etag, expected.algorithm,
                                digests.checksum)
        trailers = getattr(body, "trailers", {})
    if threading.current_thread() is threading.main_thread():
        blob, size = await asyncio.get_running_loop().run_in_executor(
            None, _store_whole, store, digests, pieces, content_md5, expected, trailers)
    else:
        blob, size = _store_whole(store, digests, pieces, content_md5, expected, trailers)
    return Received(blob, size, digests.etag, expected.algorithm, digests.checksum)
