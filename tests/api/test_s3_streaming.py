"""Streaming: signed aws-chunked uploads over raw HTTP, large plain bodies taken straight off
the socket, virtual-hosted and root path-style addressing, and flat memory for big objects
(256 MiB here; 1 GiB with EUCA_SLOW_TESTS=1)."""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from eucalyptus.aws.auth import sigv4
from eucalyptus.aws.auth.payload import ChunkSigner
from tests.api.s3_clients import bucket, error_code, s3  # noqa: F401

MIB = 1 << 20


def _signed_headers(cloud, method: str, url: str, headers: dict, payload_hash: str) -> dict:
    creds = Credentials(cloud.env["AWS_ACCESS_KEY_ID"], cloud.env["AWS_SECRET_ACCESS_KEY"])
    class Signer(S3SigV4Auth):
        def payload(self, request):       # sign the payload hash we declare
            return payload_hash

    request = AWSRequest(method=method, url=url, headers=headers)
    Signer(creds, "s3", cloud.env["AWS_DEFAULT_REGION"]).add_auth(request)
    return dict(request.headers.items())


def _send(cloud, method: str, path: str, headers: dict, body: bytes = b"", host=None):
    netloc = urlsplit(cloud.endpoint("s3")).netloc
    conn = http.client.HTTPConnection(netloc, timeout=60)
    conn.request(method, path, body=body, headers={"Host": host or netloc, **headers})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def _chunked_put(cloud, bucket: str, key: str, chunks: list[bytes], tamper: bool = False):
    base = cloud.endpoint("s3")
    url = f"{base}/{bucket}/{key}"
    total = sum(len(c) for c in chunks)
    headers = _signed_headers(cloud, "PUT", url, {
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(total)},
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    auth = headers["Authorization"]
    seed = auth.rsplit("Signature=", 1)[1]
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/", 1)[1]
    date = scope.split("/")[0]
    key_bytes = sigv4.signing_key(cloud.env["AWS_SECRET_ACCESS_KEY"], date,
                                  cloud.env["AWS_DEFAULT_REGION"], "s3")
    signer = ChunkSigner(key_bytes, headers["X-Amz-Date"], scope, seed)
    body = b""
    for data in chunks + [b""]:
        sig = signer.chunk(data)
        if tamper and data:
            data = b"X" + data[1:]
        body += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
    return _send(cloud, "PUT", urlsplit(url).path, headers, body)


def test_signed_chunked_upload(cloud, s3, bucket):
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), os.urandom(100)]
    status, body = _chunked_put(cloud, bucket, "chunked", chunks)
    assert status == 200, body
    got = s3.get_object(Bucket=bucket, Key="chunked")["Body"].read()
    assert got == b"".join(chunks)
    status, body = _chunked_put(cloud, bucket, "tampered", chunks, tamper=True)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="tampered")


def test_payload_hash_mismatch(cloud, s3, bucket):
    url = f"{cloud.endpoint('s3')}/{bucket}/h"
    headers = _signed_headers(cloud, "PUT", url, {}, hashlib.sha256(b"expected").hexdigest())
    status, body = _send(cloud, "PUT", urlsplit(url).path, headers, b"different")
    assert status == 400 and b"XAmzContentSHA256Mismatch" in body


def test_addressing_styles(cloud, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"addressed")
    netloc = urlsplit(cloud.endpoint("s3")).netloc
    port = netloc.rsplit(":", 1)[1]
    for host, path in [(f"{bucket}.s3.localhost:{port}", "/a/b.txt"),
                       (f"{bucket}.127.0.0.1:{port}", "/a/b.txt"),
                       (netloc, f"/{bucket}/a/b.txt"),
                       (netloc, f"/services/objectstorage/{bucket}/a/b.txt")]:
        url = f"http://{host}{path}"
        headers = _signed_headers(cloud, "GET", url, {}, hashlib.sha256(b"").hexdigest())
        status, body = _send(cloud, "GET", path, headers, host=host)
        assert (status, body) == (200, b"addressed"), (host, path, body)


def _raw_put(cloud, bucket: str, key: str, data: bytes, payload_hash: str = "UNSIGNED-PAYLOAD",
             send: int | None = None) -> tuple[int, str, bytes, bytes]:
    """PUT ``data`` over a plain socket, sending only its first ``send`` bytes (then ending
    the request side) when given: (status, head, body, what followed on the connection)."""
    url = f"{cloud.endpoint('s3')}/{bucket}/{key}"
    headers = _signed_headers(cloud, "PUT", url, {"Content-Length": str(len(data))},
                              payload_hash)
    host, port = urlsplit(url).netloc.rsplit(":", 1)
    lines = [f"PUT {urlsplit(url).path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        view = memoryview(data)[:len(data) if send is None else send]
        for start in range(0, len(view), 3 * MIB):        # in pieces, as a client would
            sock.sendall(view[start:start + 3 * MIB])
        if send is not None:
            sock.shutdown(socket.SHUT_WR)
        answer = sock.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = answer.readline()
            assert line, head
            head += line
        text = head.decode("latin-1")
        length = int(text.lower().split("content-length:", 1)[1].split("\r\n", 1)[0])
        body = answer.read(length)
        after = answer.read()                    # b"" once the server closed the connection
    return int(text.split(" ", 2)[1]), text, body, after


def _writing_blobs(cloud) -> list[Path]:
    """Blob files still being written (owner-write-only mode) in the cloud's store."""
    blobs = cloud.data_dir / "walrus" / "blobs"
    return [p for p in blobs.rglob("*") if p.is_file() and p.stat().st_mode & 0o777 == 0o200]


def test_large_plain_upload_taken_off_the_socket(cloud, s3, bucket):
    """A large body sent as is (unsigned, or with its SHA-256 declared) is spliced from the
    socket into its blob: the right ETag and bytes, and the connection closes after the
    answer, since the HTTP parser never saw the body."""
    data = os.urandom(9 * MIB + 777)
    for key, payload_hash in (("unsigned", "UNSIGNED-PAYLOAD"),
                              ("signed", hashlib.sha256(data).hexdigest())):
        status, head, body, after = _raw_put(cloud, bucket, key, data, payload_hash)
        assert status == 200, body
        assert f'ETag: "{hashlib.md5(data).hexdigest()}"' in head
        assert "Connection: close" in head and after == b""
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data


def test_large_plain_upload_failures_leave_nothing(cloud, s3, bucket):
    data = os.urandom(9 * MIB)
    status, _, body, _ = _raw_put(cloud, bucket, "wrong-hash", data,
                                  hashlib.sha256(b"other").hexdigest())
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    status, _, body, _ = _raw_put(cloud, bucket, "cut", data, send=5 * MIB)
    assert status == 400 and b"<Code>IncompleteBody</Code>" in body
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert _writing_blobs(cloud) == []


def test_boto3_large_uploads_take_the_splice_path(cloud, s3, bucket):
    """boto3 sends large bodies plain, with their SHA-256 and CRC32 declared: PutObject and
    UploadPart of 9 MiB are spliced (the answer closes the connection), keep every byte and
    return the checksum; a wrong Content-MD5 there is BadDigest and stores nothing."""
    data = os.urandom(9 * MIB + 3)
    put = s3.put_object(Bucket=bucket, Key="put", Body=data, ChecksumAlgorithm="CRC32")
    assert put["ResponseMetadata"]["HTTPHeaders"].get("connection") == "close"
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"' and put["ChecksumCRC32"]
    assert s3.get_object(Bucket=bucket, Key="put")["Body"].read() == data
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1, Body=data)
    assert part["ResponseMetadata"]["HTTPHeaders"].get("connection") == "close"
    s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="mpu")["Body"].read() == data
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=data, ContentMD5=wrong)
    assert error_code(caught.value) == "BadDigest"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["mpu", "put"]
    assert _writing_blobs(cloud) == []


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _walrus_pids(cloud) -> list[int]:
    path = cloud.data_dir / "run" / "walrus-workers.pid"
    return [int(p) for p in path.read_text().split()]


def _big_round_trip(cloud, bucket: str, tmp_path: Path, size: int) -> None:
    src = tmp_path / "big.bin"
    with open(src, "wb") as out:
        block = os.urandom(MIB)
        for _ in range(size // MIB):
            out.write(block)
    pids = _walrus_pids(cloud)
    before = {pid: _rss_kib(pid) for pid in pids}
    peak = dict(before)
    start = time.monotonic()
    for args in (["s3", "cp", str(src), f"s3://{bucket}/big.bin"],
                 ["s3", "cp", f"s3://{bucket}/big.bin", str(tmp_path / "back.bin")]):
        result = cloud.aws(*args, "--only-show-errors", timeout=600)
        assert result.returncode == 0, result.stderr
        for pid in pids:
            peak[pid] = max(peak[pid], _rss_kib(pid))
    elapsed = time.monotonic() - start
    assert (tmp_path / "back.bin").stat().st_size == size
    growth = max(peak[pid] - before[pid] for pid in pids)
    assert growth < 64 * 1024, f"RSS grew by {growth} KiB"
    assert elapsed < 600


def test_big_object_keeps_memory_flat(cloud, s3, bucket, tmp_path):
    """A 256 MiB object uploaded with one PUT (streamed) and read back: worker RSS stays flat."""
    src = tmp_path / "big.bin"
    block = os.urandom(MIB)
    with open(src, "wb") as out:
        for _ in range(256):
            out.write(block)
    pids = _walrus_pids(cloud)
    before = {pid: _rss_kib(pid) for pid in pids}
    with open(src, "rb") as body:
        s3.put_object(Bucket=bucket, Key="big", Body=body)
    after_put = {pid: _rss_kib(pid) for pid in pids}
    digest = hashlib.md5()
    stream = s3.get_object(Bucket=bucket, Key="big")["Body"]
    while chunk := stream.read(4 * MIB):
        digest.update(chunk)
    after_get = {pid: _rss_kib(pid) for pid in pids}
    assert digest.hexdigest() == hashlib.md5(block * 256).hexdigest()
    for pid in pids:
        assert max(after_put[pid], after_get[pid]) - before[pid] < 64 * 1024


@pytest.mark.parametrize("cloud", ["sqlite"], indirect=True)   # ~10 s; once is enough
def test_one_gib_aws_cli_round_trip(cloud, bucket, tmp_path):
    _big_round_trip(cloud, bucket, tmp_path, 1024 * MIB)
