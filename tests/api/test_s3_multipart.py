"""Multipart uploads through boto3 (and s3transfer): parts, copy parts, listing, errors."""
from __future__ import annotations

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_clients import bucket, error_code, s3  # noqa: F401

MIB = 1 << 20


def test_multipart_round_trip(s3, bucket):
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="video/x",
                                        Metadata={"m": "1"})
    uid = upload["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in listed] == [uid]
    etags = []
    for number, data in enumerate(parts_data, start=1):
        etags.append(s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=number,
                                    Body=data)["ETag"])
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in parts["Parts"]] == [1, 2] and parts["IsTruncated"]
    with pytest.raises(ClientError) as order:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
    assert error_code(order.value) == "InvalidPartOrder"
    with pytest.raises(ClientError) as wrong:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"00"'}]})
    assert error_code(wrong.value) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
    md5s = b"".join(hashlib.md5(d).digest() for d in parts_data)
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == b"".join(parts_data)
    assert got["ContentType"] == "video/x" and got["Metadata"] == {"m": "1"}
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as finished:
        s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)
    assert error_code(finished.value) == "NoSuchUpload"


def test_small_parts_copy_parts_and_abort(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=1,
                           Body=b"small")["ETag"]
    copied = s3.upload_part_copy(Bucket=bucket, Key="m", UploadId=uid, PartNumber=2,
                                 CopySource=f"{bucket}/src", CopySourceRange="bytes=2-5")
    assert copied["CopyPartResult"]["ETag"] == f'"{hashlib.md5(b"2345").hexdigest()}"'
    with pytest.raises(ClientError) as small:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": first},
                      {"PartNumber": 2, "ETag": copied["CopyPartResult"]["ETag"]}]})
    assert error_code(small.value) == "EntityTooSmall"
    with pytest.raises(ClientError) as bad_range:
        s3.upload_part_copy(Bucket=bucket, Key="m", UploadId=uid, PartNumber=3,
                            CopySource=f"{bucket}/src", CopySourceRange="bytes=5-50")
    assert error_code(bad_range.value) == "InvalidRequest"
    single = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=uid,
                                          MultipartUpload={"Parts": [
                                              {"PartNumber": 2,
                                               "ETag": copied["CopyPartResult"]["ETag"]}]})
    assert single["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"2345"
    uid2 = s3.create_multipart_upload(Bucket=bucket, Key="n")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="n", UploadId=uid2, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="n", UploadId=uid2)
    with pytest.raises(ClientError) as aborted:
        s3.upload_part(Bucket=bucket, Key="n", UploadId=uid2, PartNumber=2, Body=b"y")
    assert error_code(aborted.value) == "NoSuchUpload"


def test_upload_file_uses_multipart_with_checksums(s3, bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig
    data = os.urandom(12 * MIB + 7)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(path), bucket, "transfer.bin", Config=config,
                   ExtraArgs={"ChecksumAlgorithm": "SHA256"})
    head = s3.head_object(Bucket=bucket, Key="transfer.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    assert head["ChecksumSHA256"].endswith("-3")
    out = tmp_path / "back.bin"
    s3.download_file(bucket, "transfer.bin", str(out), Config=config)
    assert hashlib.md5(out.read_bytes()).digest() == hashlib.md5(data).digest()


def test_concurrent_conditional_completions_have_one_winner(s3, bucket):
    """Completing six uploads of one key at once with If-None-Match: * gives exactly one
    object: the condition is judged again under the key's lock, after the parts are joined."""
    import concurrent.futures

    uploads = []
    for i in range(6):
        upload = s3.create_multipart_upload(Bucket=bucket, Key="raced")["UploadId"]
        etag = s3.upload_part(Bucket=bucket, Key="raced", UploadId=upload, PartNumber=1,
                              Body=b"%d" % i * 1000)["ETag"]
        uploads.append((upload, etag))

    def complete(entry):
        upload, etag = entry
        try:
            return s3.complete_multipart_upload(
                Bucket=bucket, Key="raced", UploadId=upload, IfNoneMatch="*",
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})["ETag"]
        except ClientError as exc:
            return exc.response["ResponseMetadata"]["HTTPStatusCode"]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(complete, uploads))
    assert sorted(str(r) for r in results).count("412") == 5, results
    body = s3.get_object(Bucket=bucket, Key="raced")["Body"].read()
    assert body in [b"%d" % i * 1000 for i in range(6)]
    s3.delete_object(Bucket=bucket, Key="raced")
    for upload, _ in uploads:
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key="raced", UploadId=upload)
        except ClientError:
            pass
