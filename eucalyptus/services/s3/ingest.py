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

A body of at least ``SPLICE_MIN`` bytes that can come straight off its socket (a ``detach()``
able body, see ``walrus.streams.SocketBody``) into a store with the ``splice`` flag never
enters this process: one thread splices it from the socket into the blob's file, and one
thread per digest (MD5, the additional checksum, the SHA-256 a SigV4 client declared) follows
it, hashing the written bytes in place from the page cache (``BlobWriter.mapped``). The MD5
thread is the one a large upload waits for; it no longer shares its core with copies of the
bytes into and out of Python.
"""
from __future__ import annotations

import asyncio
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Mapping

from eucalyptus.aws.auth.payload import incomplete_body, sha256_mismatch
from eucalyptus.drivers.objects.base import BlobStore, BlobWriter
from eucalyptus.services.s3.checksums import Digests, Expectation
from eucalyptus.services.s3.errors import s3_error

BATCH = 4 << 20          # bytes handed to the hashing threads at a time
SPLICE_MIN = 8 << 20     # bodies at least this big are spliced when they can be
MAP_STEP = 16 << 20      # bytes a following thread maps and hashes at a time
SPLICE_THREADS = 32      # threads for spliced uploads (one moving and 1-3 hashing each)
MAX_SIZE = 5 << 30       # the most one PUT (of an object or a part) may carry
_splice_pool: ThreadPoolExecutor | None = None


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


async def _off_the_loop(blocking: Callable[..., Any], *args: Any) -> Any:
    """``blocking(*args)`` (file creation, fsync) on a worker thread when called from a
    process' main loop; inline on a request thread (``walrus.offload``), whose loop serves
    this request alone."""
    if threading.current_thread() is threading.main_thread():
        return await asyncio.get_running_loop().run_in_executor(None, blocking, *args)
    return blocking(*args)


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
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    return store.put(data), len(data)


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
        return await _off_the_loop(writer.commit), writer.size
    except BaseException:
        await _settle(*pending)
        writer.abort()
        raise


class _Progress:
    """How much of a spliced upload is written, for the threads that hash it."""

    def __init__(self):
        self._changed = threading.Condition()
        self.size = 0
        self.ended = False
        self.failed = False

    def advance(self, size: int) -> None:
        with self._changed:
            self.size = size
            self._changed.notify_all()

    def end(self, failed: bool = False) -> None:
        with self._changed:
            self.ended, self.failed = True, failed
            self._changed.notify_all()

    def beyond(self, offset: int) -> int:
        """The size written once it exceeds ``offset``, or once the transfer has ended
        (RuntimeError when it failed)."""
        with self._changed:
            while self.size <= offset and not self.ended:
                self._changed.wait()
            if self.failed:
                raise RuntimeError("the transfer failed")
            return self.size


def _transfer(writer: BlobWriter, pieces: list, body: Any, progress: _Progress) -> None:
    try:
        _write_all(writer, pieces)
        progress.advance(writer.size)
        writer.splice_from(body.fd, body.length - writer.size, body.wait, progress.advance)
    except BaseException:
        progress.end(failed=True)
        raise
    progress.end()


def _follow(writer: BlobWriter, progress: _Progress, hasher: Any) -> None:
    hashed = 0
    while (size := progress.beyond(hashed)) > hashed:
        end = min(size, hashed + MAP_STEP)
        with writer.mapped(hashed, end) as view:
            hasher.update(view)
        hashed = end


def _pool() -> ThreadPoolExecutor:
    global _splice_pool
    if _splice_pool is None:
        _splice_pool = ThreadPoolExecutor(SPLICE_THREADS, thread_name_prefix="walrus-splice")
    return _splice_pool


async def _splice(store: BlobStore, digests: Digests, body: Any, content_md5: str | None,
                  expected: Expectation) -> tuple[str, int]:
    """Take the body off its socket into a new blob, hashed by threads following the
    writes; every check passes before the blob is committed."""
    loop = asyncio.get_running_loop()
    try:
        pieces = await body.detach()
    except ConnectionError:
        raise incomplete_body() from None
    declared = hashlib.sha256() if body.declared else None
    hashers = [h for h in (digests.md5, digests.extra, declared) if h is not None]
    writer = store.writer()
    progress = _Progress()
    # the transfer first: a pool thread runs a follower only after its transfer started
    futures = [loop.run_in_executor(_pool(), _transfer, writer, pieces, body, progress)]
    futures += [loop.run_in_executor(_pool(), _follow, writer, progress, h) for h in hashers]
    try:
        try:
            await futures[0]
        except (EOFError, ConnectionError):
            raise incomplete_body() from None
        for future in futures[1:]:
            await future
        digests.verify(content_md5, expected, {})
        if declared is not None and declared.hexdigest() != body.declared:
            raise sha256_mismatch()
        return await _off_the_loop(writer.commit), writer.size
    except BaseException:
        body.abandon()
        await _settle(*futures)
        writer.abort()
        raise


def _too_large(size: int | None) -> Exception:
    return s3_error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                    MaxSizeAllowed=MAX_SIZE, ProposedSize=size)


async def _at_most(chunks: AsyncIterator, limit: int) -> AsyncIterator:
    """The chunks, EntityTooLarge once they hold more than ``limit`` bytes."""
    total = 0
    async for data in chunks:
        total += len(data)
        if total > limit:
            raise _too_large(None)
        yield data


async def receive(store: BlobStore, body: Any, *, content_md5: str | None = None,
                  expected: Expectation | None = None) -> Received:
    """Stream ``body`` into a new blob; BadDigest & co. when it does not match.

    A body that ends within ``BATCH`` bytes is gathered, then created, hashed, checked and
    committed in one go: on a worker thread from a process' main loop (one thread hop, no
    file creation or fsync on the loop), inline on a request thread (``walrus.offload``).
    A longer one streams (``_stream_rest``). A body announcing more than ``MAX_SIZE`` bytes is
    refused before any is read, one of unannounced length once it passes ``MAX_SIZE``
    (EntityTooLarge)."""
    length = getattr(body, "length", None)
    if length is not None and length > MAX_SIZE:
        raise _too_large(length)
    expected = expected or Expectation()
    digests = Digests(expected.algorithm)
    if store.splice and hasattr(body, "detach") and body.length >= SPLICE_MIN:
        blob, size = await _splice(store, digests, body, content_md5, expected)
        return Received(blob, size, digests.etag, expected.algorithm, digests.checksum)
    if body is None or isinstance(body, (bytes, bytearray, memoryview)):
        pieces, trailers = ([body] if body else []), {}
    else:
        chunks = _at_most(body.chunks(), MAX_SIZE).__aiter__()
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
    blob, size = await _off_the_loop(_store_whole, store, digests, pieces, content_md5,
                                     expected, trailers)
    return Received(blob, size, digests.etag, expected.algorithm, digests.checksum)
