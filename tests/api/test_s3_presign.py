"""Presigned URLs (SigV4 and SigV2 query forms) that work, then expire; SigV2 headers."""
from __future__ import annotations

import time
import urllib.error
import urllib.request

from tests.api.test_s3_acl import code_of, tenants, unique  # noqa: F401


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    # no Content-Type (urllib would add a form type, which a V2 signature covers)
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": ""} if data is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_presigned_get_and_put_work_then_expire(tenants):
    owner, other = tenants
    v4, v2 = owner.s3(), owner.s3(signature_version="s3")
    bucket = unique("presign")
    v4.create_bucket(Bucket=bucket)
    v4.put_object(Bucket=bucket, Key="a b/file.txt", Body=b"contents")
    short = {}
    for name, client in (("v4", v4), ("v2", v2)):
        url = client.generate_presigned_url("get_object", ExpiresIn=300,
                                            Params={"Bucket": bucket, "Key": "a b/file.txt"})
        assert ("AWSAccessKeyId=" in url) == (name == "v2")
        assert fetch(url) == (200, b"contents")
        put = client.generate_presigned_url("put_object", ExpiresIn=300,
                                            Params={"Bucket": bucket, "Key": f"up-{name}"})
        assert fetch(put, "PUT", f"uploaded {name}".encode())[0] == 200
        assert v4.get_object(Bucket=bucket, Key=f"up-{name}")["Body"].read() == \
            f"uploaded {name}".encode()
        tampered = url.replace("a%20b/file.txt", "a%20b/other.txt")
        status, body = fetch(tampered)
        assert status == 403 and b"SignatureDoesNotMatch" in body
        short[name] = client.generate_presigned_url(
            "get_object", ExpiresIn=1, Params={"Bucket": bucket, "Key": "a b/file.txt"})
    # a URL presigned by someone without access does not open the object
    theirs = other.s3().generate_presigned_url("get_object", ExpiresIn=300,
                                               Params={"Bucket": bucket, "Key": "a b/file.txt"})
    status, body = fetch(theirs)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    time.sleep(2.2)
    for name, url in short.items():
        status, body = fetch(url)
        assert status == 403, name
        assert b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body, body


def test_sigv2_header_requests(tenants):
    owner, other = tenants
    v2 = owner.s3(signature_version="s3")
    bucket = unique("sigv2")
    v2.create_bucket(Bucket=bucket)
    v2.put_object(Bucket=bucket, Key="k?x=1", Body=b"v2 body", ContentType="text/plain",
                  Metadata={"colour": "blue"})
    got = v2.get_object(Bucket=bucket, Key="k?x=1")
    assert got["Body"].read() == b"v2 body" and got["Metadata"] == {"colour": "blue"}
    v2.put_object_acl(Bucket=bucket, Key="k?x=1", ACL="public-read")
    assert [g["Permission"] for g in v2.get_object_acl(Bucket=bucket, Key="k?x=1")["Grants"]] \
        == ["FULL_CONTROL", "READ"]
    assert [o["Key"] for o in v2.list_objects(Bucket=bucket)["Contents"]] == ["k?x=1"]
    wrong = other.client("s3", signature_version="s3", secret="0" * 40)
    assert code_of(wrong.list_objects, Bucket=bucket) == "SignatureDoesNotMatch"
