"""ingest.receive: whole small bodies and streamed large ones give the same blob, ETag and
checksum; a body failing its checks leaves no file behind. A body taken off its socket is
spliced into the blob and hashed from the written file, with the same checks. BodySource hands
on aiohttp's buffers and ends only at the end of the body; a SocketBody's wait gives up after
its idle timeout or once abandoned."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import select
import socket
import threading
import zlib

import pytest

from eucalyptus.drivers.objects.fs import FsBlobStore
from eucalyptus.errors import ServiceError
from eucalyptus.services.s3 import ingest
from eucalyptus.services.s3.checksums import Expectation
from eucalyptus.walrus import streams
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


class Detachable:
    """A body taken off a socket (like walrus.streams.SocketBody): ``prefix`` was buffered
    already, the rest of ``length`` bytes comes from the socket the peer writes to."""

    def __init__(self, data: bytes, prefix: int, length: int | None = None,
                 declared: str | None = None):
        self.length = len(data) if length is None else length
        self.declared = declared
        self.prefix = data[:prefix]
        self.sock, peer = socket.socketpair()
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()
        self.abandoned = False

        def send():
            for start in range(prefix, len(data), 1 << 20):
                peer.sendall(data[start:start + (1 << 20)])
            peer.close()
        self.sender = threading.Thread(target=send)
        self.sender.start()

    async def detach(self):
        return [self.prefix]

    def wait(self):
        select.select([self.sock], [], [], 5)

    def abandon(self):
        self.abandoned = True


def _splice_receive(store, body, **kwargs):
    try:
        return asyncio.run(ingest.receive(store, body, **kwargs))
    finally:
        body.sender.join()
        body.sock.close()


def test_spliced_body_is_hashed_from_the_written_file(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAP_STEP", 1 << 20)
    store = FsBlobStore(tmp_path)
    data = os.urandom((9 << 20) + 12345)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    body = Detachable(data, 70_000, declared=hashlib.sha256(data).hexdigest())
    got = _splice_receive(store, body, content_md5=md5,
                          expected=Expectation("CRC32", _crc32(data)))
    assert (got.size, got.etag, got.checksum) == (len(data), hashlib.md5(data).hexdigest(),
                                                   _crc32(data))
    with store.open(got.blob) as handle:
        assert handle.read() == data
    assert _files(store) == [got.blob]


@pytest.mark.parametrize("case", ["sha256", "md5", "crc32", "short"])
def test_spliced_body_failing_its_checks_leaves_no_file(tmp_path, case):
    store = FsBlobStore(tmp_path)
    data = os.urandom(ingest.SPLICE_MIN + 1)
    kwargs, declared, length = {}, None, None
    if case == "sha256":
        declared = hashlib.sha256(b"other").hexdigest()
    elif case == "md5":
        kwargs["content_md5"] = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    elif case == "crc32":
        kwargs["expected"] = Expectation("CRC32", _crc32(b"other"))
    else:
        length = len(data) + 1000          # the peer closes before sending all it announced
    body = Detachable(data, 1000, length=length, declared=declared)
    with pytest.raises(ServiceError) as caught:
        _splice_receive(store, body, **kwargs)
    assert caught.value.code == {"sha256": "XAmzContentSHA256Mismatch", "md5": "BadDigest",
                                 "crc32": "BadDigest", "short": "IncompleteBody"}[case]
    assert _files(store) == []


def test_small_detachable_bodies_stream_as_usual(tmp_path):
    """Below SPLICE_MIN a detachable body is read through its chunks like any other."""
    store = FsBlobStore(tmp_path)
    data = os.urandom(100_000)

    class Small(Pieces):
        length = len(data)

        async def detach(self):
            raise AssertionError("a small body is not detached")
    got = asyncio.run(ingest.receive(store, Small([data[:500], data[500:]])))
    assert got.etag == hashlib.md5(data).hexdigest()


def test_socket_body_wait_times_out_and_gives_up(monkeypatch):
    monkeypatch.setattr(streams, "IDLE_TIMEOUT", 0.2)
    monkeypatch.setattr(streams, "WAIT_SLICE", 0.05)
    request = type("Request", (), {"content": None})()
    body = streams.SocketBody(request, {"Content-Length": "10"})
    ours, theirs = socket.socketpair()
    body.fd = ours.fileno()
    with pytest.raises(ServiceError) as caught:
        body.wait()
    assert caught.value.code == "RequestTimeout" and caught.value.status == 400
    body.abandon()
    with pytest.raises(streams.Abandoned):
        body.wait()
    theirs.sendall(b"x")
    body.wait()                            # readable: returns at once
    ours.close()
    theirs.close()


def test_a_body_announcing_more_than_five_gib_is_refused_unread(tmp_path):
    store = FsBlobStore(tmp_path)

    class Huge(Pieces):
        length = (5 << 30) + 1

        async def chunks(self):
            raise AssertionError("not a byte is read")
            yield b""
    with pytest.raises(ServiceError) as caught:
        asyncio.run(ingest.receive(store, Huge([])))
    assert (caught.value.code, caught.value.status) == ("EntityTooLarge", 400)
    assert caught.value.fields["ProposedSize"] == str((5 << 30) + 1)
    assert _files(store) == []


def test_a_body_of_unannounced_length_stops_at_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_SIZE", 300_000)
    monkeypatch.setattr(ingest, "BATCH", 64 << 10)
    store = FsBlobStore(tmp_path)
    pieces = [os.urandom(50_000) for _ in range(8)]
    got = asyncio.run(ingest.receive(store, Pieces(pieces[:6])))      # exactly the limit
    assert got.size == 300_000
    with pytest.raises(ServiceError) as caught:
        asyncio.run(ingest.receive(store, Pieces(pieces)))
    assert caught.value.code == "EntityTooLarge" and "ProposedSize" not in caught.value.fields
    assert _files(store) == [got.blob]
