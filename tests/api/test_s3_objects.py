"""Objects through boto3: put/get/head/delete, metadata, ranges, conditions, digests, copy."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from botocore.exceptions import ClientError

from eucalyptus.services.s3 import checksums
from tests.api.s3_clients import bucket, error_code, s3, unique_bucket  # noqa: F401


def _status(exc: ClientError) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_head_with_metadata(s3, bucket):
    body = b"hello walrus" * 100
    expires = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    put = s3.put_object(Bucket=bucket, Key="dir/obj one.txt", Body=body,
                        ContentType="text/plain", ContentEncoding="identity",
                        ContentDisposition="attachment; filename=x.txt",
                        ContentLanguage="en", CacheControl="max-age=60", Expires=expires,
                        Metadata={"Color": "blue", "n": "1"})
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/obj one.txt")
    assert got["Body"].read() == body
    assert got["ContentLength"] == len(body) and got["ETag"] == put["ETag"]
    assert (got["ContentType"], got["ContentEncoding"], got["ContentLanguage"],
            got["CacheControl"]) == ("text/plain", "identity", "en", "max-age=60")
    assert got["ContentDisposition"] == "attachment; filename=x.txt"
    assert got["Metadata"] == {"color": "blue", "n": "1"}
    assert got["ExpiresString"].endswith("GMT")
    head = s3.head_object(Bucket=bucket, Key="dir/obj one.txt")
    assert head["ContentLength"] == len(body) and head["Metadata"] == {"color": "blue", "n": "1"}
    assert head["AcceptRanges"] == "bytes"
    overridden = s3.get_object(Bucket=bucket, Key="dir/obj one.txt",
                               ResponseContentType="application/x-test")
    assert overridden["ContentType"] == "application/x-test"
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    empty = s3.get_object(Bucket=bucket, Key="empty")
    assert empty["Body"].read() == b"" and empty["ContentType"] == "binary/octet-stream"


def test_missing_key_and_bucket(s3, bucket):
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_code(err.value) == "NoSuchKey" and _status(err.value) == 404
    assert err.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=bucket, Key="nope")
    assert _status(head.value) == 404
    with pytest.raises(ClientError) as nob:
        s3.put_object(Bucket=unique_bucket("none"), Key="k", Body=b"x")
    assert error_code(nob.value) == "NoSuchBucket"
    with pytest.raises(ClientError) as long_key:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_code(long_key.value) == "KeyTooLongError"


def test_ranges(s3, bucket):
    body = bytes(range(256)) * 4
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    for header, expected, content_range in [
            ("bytes=0-9", body[:10], "bytes 0-9/1024"),
            ("bytes=1000-", body[1000:], "bytes 1000-1023/1024"),
            ("bytes=-5", body[-5:], "bytes 1019-1023/1024"),
            ("bytes=1020-5000", body[1020:], "bytes 1020-1023/1024")]:
        got = s3.get_object(Bucket=bucket, Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["Body"].read() == expected and got["ContentRange"] == content_range
    whole = s3.get_object(Bucket=bucket, Key="r", Range="bytes=0-1,5-6")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=2000-")
    assert error_code(err.value) == "InvalidRange" and _status(err.value) == 416
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["content-range"] == \
        "bytes */1024"


def test_conditional_requests(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"data")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    past, future = modified - dt.timedelta(hours=1), modified + dt.timedelta(hours=1)
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"data"
    for kwargs, status in [({"IfMatch": '"0000"'}, 412), ({"IfNoneMatch": etag}, 304),
                           ({"IfModifiedSince": future}, 304),
                           ({"IfUnmodifiedSince": past}, 412)]:
        with pytest.raises(ClientError) as err:
            s3.get_object(Bucket=bucket, Key="c", **kwargs)
        assert _status(err.value) == status, kwargs
    # If-Match wins over a failing If-Unmodified-Since; If-None-Match over If-Modified-Since
    ok = s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=past)
    assert ok["Body"].read() == b"data"
    ok = s3.get_object(Bucket=bucket, Key="c", IfNoneMatch='"other"', IfModifiedSince=future)
    assert ok["Body"].read() == b"data"
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert _status(head.value) == 304
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=bucket, Key="c", Body=b"new", IfNoneMatch="*")
    assert _status(exists.value) == 412


def test_content_md5(s3, bucket):
    good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    s3.put_object(Bucket=bucket, Key="m", Body=b"abc", ContentMD5=good)
    with pytest.raises(ClientError) as bad:
        s3.put_object(Bucket=bucket, Key="m", Body=b"abd", ContentMD5=good)
    assert error_code(bad.value) == "BadDigest"
    with pytest.raises(ClientError) as invalid:
        s3.put_object(Bucket=bucket, Key="m", Body=b"abc", ContentMD5="not-base64!")
    assert error_code(invalid.value) == "InvalidDigest"
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"abc"


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_checksums_stored_and_returned(s3, bucket, algorithm):
    body = b"checksummed " * 1000
    member = f"Checksum{algorithm}"
    value = checksums.of_bytes(algorithm, body)
    if algorithm == "CRC32C":      # botocore computes CRC32C only with awscrt: send the value
        put = s3.put_object(Bucket=bucket, Key=f"ck-{algorithm}", Body=body, **{member: value})
    else:                          # botocore computes it and sends it in the trailer
        put = s3.put_object(Bucket=bucket, Key=f"ck-{algorithm}", Body=body,
                            ChecksumAlgorithm=algorithm)
    assert put[member] == value
    got = s3.get_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert got[member] == value and got["Body"].read() == body
    head = s3.head_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert head[member] == value
    wrong = checksums.of_bytes(algorithm, b"something else")
    with pytest.raises(ClientError) as bad:
        s3.put_object(Bucket=bucket, Key="ck-bad", Body=body, **{member: wrong})
    assert error_code(bad.value) == "BadDigest"


def test_overwrite_and_delete(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"one")
    s3.put_object(Bucket=bucket, Key="o", Body=b"two")
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"two"
    assert s3.delete_object(Bucket=bucket, Key="o")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="o")["ResponseMetadata"]["HTTPStatusCode"] == 204
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"many/{i}", Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": f"many/{i}"} for i in range(6)]})
    assert sorted(d["Key"] for d in result["Deleted"]) == [f"many/{i}" for i in range(6)]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="many/")
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x"}], "Quiet": True})
    assert "Deleted" not in quiet


def test_copy_object(s3, bucket):
    other = unique_bucket("copy")
    s3.create_bucket(Bucket=other)
    try:
        etag = s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/x",
                             Metadata={"a": "1"})["ETag"]
        copied = s3.copy_object(Bucket=other, Key="dst", CopySource=f"{bucket}/src")
        assert copied["CopyObjectResult"]["ETag"] == etag
        got = s3.get_object(Bucket=other, Key="dst")
        assert got["Body"].read() == b"copy me" and got["Metadata"] == {"a": "1"}
        assert got["ContentType"] == "text/x"
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                       MetadataDirective="REPLACE", Metadata={"b": "2"},
                       ContentType="text/y")
        head = s3.head_object(Bucket=bucket, Key="src")
        assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "text/y"
        with pytest.raises(ClientError) as itself:
            s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
        assert error_code(itself.value) == "InvalidRequest"
        with pytest.raises(ClientError) as cond:
            s3.copy_object(Bucket=other, Key="d2", CopySource=f"{bucket}/src",
                           CopySourceIfMatch='"nope"')
        assert error_code(cond.value) == "PreconditionFailed"
        s3.copy_object(Bucket=other, Key="d3", CopySource=f"{bucket}/src",
                       CopySourceIfNoneMatch='"nope"')
        with pytest.raises(ClientError) as missing:
            s3.copy_object(Bucket=other, Key="d4", CopySource=f"{bucket}/absent")
        assert error_code(missing.value) == "NoSuchKey"
    finally:
        for key in ("dst", "d3"):
            s3.delete_object(Bucket=other, Key=key)
        s3.delete_bucket(Bucket=other)


def test_concurrent_conditional_creates_have_one_winner(s3, bucket):
    """Uploads arriving together share one transaction on the server (group commit): eight
    simultaneous If-None-Match: * PUTs of one key still give exactly one 200 and seven 412s,
    the object is the winner's; plain PUTs of other keys in the same moment all land."""
    import concurrent.futures

    bodies = [f"writer {i}".encode() * 100 for i in range(8)]

    def create(i):
        try:
            return s3.put_object(Bucket=bucket, Key="once", Body=bodies[i],
                                 IfNoneMatch="*")["ETag"]
        except ClientError as exc:
            return _status(exc)

    def plain(i):
        return s3.put_object(Bucket=bucket, Key=f"many/{i}", Body=bodies[i])["ETag"]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        created = list(pool.map(create, range(8)))
        landed = list(pool.map(plain, range(8)))
    winners = [etag for etag in created if isinstance(etag, str)]
    assert len(winners) == 1 and sorted(e for e in created if e != winners[0]) == [412] * 7
    body = s3.get_object(Bucket=bucket, Key="once")["Body"].read()
    assert f'"{hashlib.md5(body).hexdigest()}"' == winners[0] and body in bodies
    for i, etag in enumerate(landed):
        assert s3.get_object(Bucket=bucket, Key=f"many/{i}")["Body"].read() == bodies[i]
        assert etag == f'"{hashlib.md5(bodies[i]).hexdigest()}"'

    def copy(i):                              # copies judge the condition at their commit too
        try:
            return s3.copy_object(Bucket=bucket, Key="copied", CopySource=f"{bucket}/many/{i}",
                                  IfNoneMatch="*")["CopyObjectResult"]["ETag"]
        except ClientError as exc:
            return _status(exc)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        copied = list(pool.map(copy, range(8)))
    assert sorted(str(c) for c in copied).count("412") == 7, copied
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() in bodies
    for i in range(8):
        s3.delete_object(Bucket=bucket, Key=f"many/{i}")
    for key in ("once", "copied"):
        s3.delete_object(Bucket=bucket, Key=key)
