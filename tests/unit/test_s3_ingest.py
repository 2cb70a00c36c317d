"""ingest.receive: whole small bodies and streamed large ones give the same blob, ETag and
checksum; a body failing its checks leaves no file behind. BodySource hands on aiohttp's
buffers and ends only at the end of the body."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zlib

import pytest

from eucalyptus.drivers.objects.fs import FsBlobStore
from eucalyptus.errors import ServiceError
from eucalyptus.services.s3 import ingest
from eucalyptus.services.s3.checksums import Expectation
from eucalyptus.walrus.streams import BodySource


class Pieces:
    """A body yielding the given pieces, like PayloadReader.chunks()."""

    def __init__(self, pieces):
        self.pieces = pieces
        self.trailers = {}

    async def chunks(self):
        for piece in self.pieces:
            await asyncio.sleep(0)
            yield piece


def _files(store: FsBlobStore) -> list[str]:
    return [name for _, _, names in os.walk(store.blobs) for name in names]


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("size", [0, 1, 5000, 300_000])
def test_small_bodies_whole(tmp_path, size):
    store = FsBlobStore(tmp_path)
    data = os.urandom(size)
    for body in (data, Pieces([data[:size // 3], data[size // 3:]])):
        got = asyncio.run(ingest.receive(store, body, expected=Expectation("CRC32")))
        assert got.size == size and got.etag == hashlib.md5(data).hexdigest()
        assert got.checksum == _crc32(data)
        with store.open(got.blob) as handle:
            assert handle.read() == data


def test_large_body_streams_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 64 << 10)
    store = FsBlobStore(tmp_path)
    data = os.urandom(1_000_003)
    pieces = [data[i:i + 7919] for i in range(0, len(data), 7919)]
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    got = asyncio.run(ingest.receive(store, Pieces(pieces), content_md5=md5,
                                     expected=Expectation("CRC32", _crc32(data))))
    assert (got.size, got.etag, got.checksum) == (len(data), hashlib.md5(data).hexdigest(),
                                                   _crc32(data))
    with store.open(got.blob) as handle:
        assert handle.read() == data
    assert _files(store) == [got.blob]


@pytest.mark.parametrize("size", [10, 1_000_000])
def test_bad_digest_leaves_no_file(tmp_path, monkeypatch, size):
    monkeypatch.setattr(ingest, "BATCH", 64 << 10)
    store = FsBlobStore(tmp_path)
    data = os.urandom(size)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ServiceError) as caught:
        asyncio.run(ingest.receive(store, Pieces([data[:size // 2], data[size // 2:]]),
                                   content_md5=wrong))
    assert caught.value.code == "BadDigest"
    with pytest.raises(ServiceError) as caught:
        asyncio.run(ingest.receive(store, Pieces([data]),
                                   expected=Expectation("CRC32", _crc32(b"other"))))
    assert caught.value.code == "BadDigest"
    assert _files(store) == []


def test_failing_body_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 64 << 10)
    store = FsBlobStore(tmp_path)

    class Broken(Pieces):
        async def chunks(self):
            for _ in range(20):
                yield os.urandom(16 << 10)
            raise ServiceError("IncompleteBody", "short", status=400)

    with pytest.raises(ServiceError):
        asyncio.run(ingest.receive(store, Broken([])))
    assert _files(store) == []


def test_body_source_skips_chunk_boundaries():
    class Stream:
        def __init__(self):
            self.answers = [(b"", True), (b"abc", True), (b"", True), (b"de", False),
                            (b"", False)]

        async def readchunk(self):
            return self.answers.pop(0)

    async def drain():
        source, out = BodySource(Stream()), []
        while data := await source.some():
            out.append(data)
        return out
    assert asyncio.run(drain()) == [b"abc", b"de"]
