"""Streaming request payloads as SigV4 clients send them, verified while they stream.

``x-amz-content-sha256`` says how the body is signed:

* a hex SHA-256: the plain body; its digest is checked at the end (XAmzContentSHA256Mismatch);
* ``UNSIGNED-PAYLOAD``: the plain body, unchecked;
* ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: ``aws-chunked`` framing, trailing headers (e.g. an
  ``x-amz-checksum-crc32``) after the last chunk;
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (``-TRAILER``): ``aws-chunked`` framing where every
  chunk carries a signature chained from the request's (seed) signature, and the trailer its
  own; each is verified as it arrives (SignatureDoesNotMatch), and every chunk but the last
  must hold at least 8 KiB (InvalidChunkSizeError).

``PayloadReader.chunks()`` yields the decoded bytes; after it is exhausted ``trailers`` holds
the trailing headers (lower-case names) and every check has passed. A body shorter than
announced raises IncompleteBody. The reader never holds more than one chunk in memory.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import AsyncIterator, Mapping

from eucalyptus.errors import ServiceError, SignatureDoesNotMatch

UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_MODES = (STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MIN_SIGNED_CHUNK = 8192
MAX_LINE = 4096
READ_SIZE = 1 << 20


def _error(code: str, message: str, status: int = 400) -> ServiceError:
    return ServiceError(code, message, status=status)


def incomplete_body() -> ServiceError:
    return _error("IncompleteBody", "You did not provide the number of bytes specified by the "
                  "Content-Length HTTP header")


def sha256_mismatch() -> ServiceError:
    return _error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header "
                  "does not match what was computed.")


def _bad_chunk_signature() -> ServiceError:
    return SignatureDoesNotMatch("The request signature we calculated does not match the "
                                 "signature you provided. Check your key and signing method.")


@dataclass
class ChunkSigner:
    """Recomputes the chained signatures of a signed streaming upload."""
    key: bytes                 # the SigV4 signing key of the request's scope
    timestamp: str             # X-Amz-Date, e.g. 20250101T000000Z
    scope: str                 # date/region/service/aws4_request
    previous: str              # the request's signature, then each chunk's

    def chunk(self, data: bytes) -> str:
        text = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.timestamp, self.scope, self.previous,
                          EMPTY_SHA256, hashlib.sha256(data).hexdigest()])
        self.previous = hmac.digest(self.key, text.encode(), "sha256").hex()
        return self.previous

    def trailer(self, trailer_text: bytes) -> str:
        text = "\n".join(["AWS4-HMAC-SHA256-TRAILER", self.timestamp, self.scope, self.previous,
                          hashlib.sha256(trailer_text).hexdigest()])
        self.previous = hmac.digest(self.key, text.encode(), "sha256").hex()
        return self.previous


class Source:
    """Adapts an aiohttp or asyncio stream (``readany``/``read``, ``readuntil``,
    ``readexactly``)."""

    def __init__(self, stream):
        self.stream = stream

    async def some(self) -> bytes:
        if hasattr(self.stream, "readany"):
            return await self.stream.readany()
        return await self.stream.read(READ_SIZE)

    async def line(self) -> bytes:
        try:
            line = await self.stream.readuntil(b"\n") if hasattr(self.stream, "readuntil") \
                else await self.stream.readline()
        except ValueError:
            raise _error("InvalidChunkSizeError", "Chunk header line too long") from None
        if len(line) > MAX_LINE:
            raise _error("InvalidChunkSizeError", "Chunk header line too long")
        return line

    async def exactly(self, n: int) -> bytes:
        try:
            return await self.stream.readexactly(n)
        except Exception as exc:  # asyncio.IncompleteReadError and friends
            if type(exc).__name__ == "IncompleteReadError":
                raise incomplete_body() from None
            raise


class PayloadReader:
    def __init__(self, stream, headers: Mapping[str, str], signer: ChunkSigner | None = None):
        self.source = stream if isinstance(stream, Source) else Source(stream)
        self.mode = headers.get("x-amz-content-sha256", UNSIGNED)
        self.signer = signer
        encoding = headers.get("Content-Encoding", "")
        self.chunked = self.mode in STREAMING_MODES or "aws-chunked" in encoding.lower()
        if self.chunked and self.mode not in STREAMING_MODES and self.mode != UNSIGNED:
            raise _error("InvalidRequest", "An aws-chunked body needs a STREAMING-* or "
                         "UNSIGNED-PAYLOAD x-amz-content-sha256")
        length = headers.get("x-amz-decoded-content-length") if self.chunked else \
            headers.get("Content-Length")
        try:
            self.length: int | None = int(length) if length is not None else None
        except ValueError:
            raise _error("InvalidArgument", "Content length is not a number") from None
        if self.mode in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER) and signer is None:
            raise _error("InvalidRequest", "A signed streaming payload needs a V4 signature")
        self.declared = self.mode.lower() if self._is_hex(self.mode) else None
        self.trailers: dict[str, str] = {}
        self.received = 0

    @staticmethod
    def _is_hex(value: str) -> bool:
        return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)

    async def chunks(self) -> AsyncIterator[bytes]:
        source = self._chunked() if self.chunked else self._plain()
        async for data in source:
            self.received += len(data)
            if self.length is not None and self.received > self.length:
                raise _error("InvalidRequest", "The body holds more bytes than announced")
            yield data
        if self.length is not None and self.received != self.length:
            raise incomplete_body()

    async def _plain(self) -> AsyncIterator[bytes]:
        digest = hashlib.sha256() if self.declared else None
        while True:
            data = await self.source.some()
            if not data:
                break
            if digest is not None:
                digest.update(data)
            yield data
        if digest is not None and digest.hexdigest() != self.declared:
            raise sha256_mismatch()

    async def _chunked(self) -> AsyncIterator[bytes]:
        signed = self.mode in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
        short_seen = False
        while True:
            header = (await self.source.line()).strip()
            if not header:
                raise incomplete_body()
            size_text, _, extension = header.partition(b";")
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _error("InvalidChunkSizeError", "Invalid chunk size") from None
            if size < 0:
                raise _error("InvalidChunkSizeError", "Invalid chunk size")
            data = await self.source.exactly(size) if size else b""
            if size:
                if await self.source.exactly(2) != b"\r\n":
                    raise _error("IncompleteBody", "Chunk data is not followed by CRLF")
            if signed:
                name, _, value = extension.decode("latin-1").partition("=")
                if name.strip() != "chunk-signature" or not hmac.compare_digest(
                        self.signer.chunk(data), value.strip()):
                    raise _bad_chunk_signature()
                if size and short_seen:
                    raise _error("InvalidChunkSizeError", "Only the last chunk is allowed to "
                                 "have a size less than 8192 bytes")
                short_seen = short_seen or size < MIN_SIGNED_CHUNK
            if size == 0:
                break
            yield data
        await self._read_trailers(signed)

    async def _read_trailers(self, signed: bool) -> None:
        lines: list[bytes] = []
        signature = None
        while True:
            line = await self.source.line()
            if not line:
                if self.mode in (STREAMING_SIGNED,):
                    return
                break
            stripped = line.strip()
            if not stripped:
                break
            name, _, value = stripped.decode("latin-1").partition(":")
            if name.strip().lower() == "x-amz-trailer-signature":
                signature = value.strip()
                continue
            lines.append(stripped)
            self.trailers[name.strip().lower()] = value.strip()
        if self.mode == STREAMING_SIGNED_TRAILER:
            text = b"".join(item + b"\n" for item in lines)
            if signature is None or not hmac.compare_digest(self.signer.trailer(text),
                                                            signature):
                raise _bad_chunk_signature()


async def read_all(reader: PayloadReader) -> bytes:
    """The whole decoded body (for small bodies only)."""
    parts = [chunk async for chunk in reader.chunks()]
    return b"".join(parts)

