"""The streaming payload reader: plain, unsigned-trailer and signed aws-chunked bodies."""
from __future__ import annotations

import asyncio
import hashlib

import pytest

from eucalyptus.aws.auth import sigv4
from eucalyptus.aws.auth.payload import ChunkSigner, PayloadReader, read_all
from eucalyptus.errors import ServiceError

# The example of AWS' "Signature Calculations for the Authorization Header: Transferring
# Payload in Multiple Chunks" (secret, date and scope below; 65 KiB of 'a' in 64 KiB + 1 KiB).
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]


def _signer() -> ChunkSigner:
    key = sigv4.signing_key(SECRET, "20130524", "us-east-1", "s3")
    return ChunkSigner(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", SEED)


def _stream(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def _read(data: bytes, headers: dict, signer=None) -> tuple[bytes, dict]:
    async def go():
        reader = PayloadReader(_stream(data), headers, signer)
        return await read_all(reader), reader.trailers
    return asyncio.run(go())


def test_aws_example_chunk_signatures():
    signer = _signer()
    assert [signer.chunk(b"a" * 65536), signer.chunk(b"a" * 1024), signer.chunk(b"")] == \
        CHUNK_SIGNATURES


def _signed_body(chunks: list[bytes], signatures: list[str]) -> bytes:
    out = b""
    for data, sig in zip(chunks + [b""], signatures):
        out += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
    return out


def test_signed_chunks_verified():
    headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "x-amz-decoded-content-length": "66560"}
    body = _signed_body([b"a" * 65536, b"a" * 1024], CHUNK_SIGNATURES)
    data, _ = _read(body, headers, _signer())
    assert data == b"a" * 66560
    tampered = body.replace(b"a" * 10, b"b" * 10, 1)
    with pytest.raises(ServiceError) as err:
        _read(tampered, headers, _signer())
    assert err.value.code == "SignatureDoesNotMatch"


def test_small_chunk_before_the_last_is_refused():
    signer = _signer()
    chunks = [b"a" * 100, b"a" * 9000]
    sigs = [signer.chunk(c) for c in chunks] + [signer.chunk(b"")]
    headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "x-amz-decoded-content-length": "9100"}
    with pytest.raises(ServiceError) as err:
        _read(_signed_body(chunks, sigs), headers, _signer())
    assert err.value.code == "InvalidChunkSizeError"


def test_unsigned_trailer():
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "11",
               "x-amz-trailer": "x-amz-checksum-crc32"}
    data, trailers = _read(body, headers)
    assert data == b"hello world" and trailers == {"x-amz-checksum-crc32": "DUoRhQ=="}
    with pytest.raises(ServiceError) as err:
        _read(body.replace(b"6\r\n world", b"6\r\n wor"), headers)
    assert err.value.code in ("IncompleteBody", "InvalidChunkSizeError")


def test_plain_body_digest_and_length():
    good = {"x-amz-content-sha256": hashlib.sha256(b"abc").hexdigest(), "Content-Length": "3"}
    assert _read(b"abc", good)[0] == b"abc"
    with pytest.raises(ServiceError) as err:
        _read(b"abd", good)
    assert err.value.code == "XAmzContentSHA256Mismatch"
    with pytest.raises(ServiceError) as short:
        _read(b"ab", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Length": "3"})
    assert short.value.code == "IncompleteBody"
