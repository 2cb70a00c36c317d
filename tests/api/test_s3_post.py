"""Browser POST uploads: policies signed by botocore's generate_presigned_post (SigV4 and
SigV2) that are honoured, and forms that violate them."""
from __future__ import annotations

import http.client
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from tests.api.test_s3_acl import anonymous, tenants, unique  # noqa: F401


def post_form(url: str, fields: dict[str, str], content: bytes, filename: str = "hello.txt",
              after: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """POST ``fields`` then the file as multipart/form-data (``after``: fields past the file)."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                      f"{value}\r\n".encode())
    chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                  f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
                  + content + b"\r\n")
    for name, value in (after or {}).items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                      f"{value}\r\n".encode())
    chunks.append(f"--{boundary}--\r\n".encode())
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("POST", parts.path, body=b"".join(chunks),
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def error_code(body: bytes) -> str:
    return ET.fromstring(body).findtext("Code")


def test_signed_policy_honoured_and_violated(cloud, tenants):
    owner, _ = tenants
    s3 = owner.s3()
    bucket = unique("forms")
    s3.create_bucket(Bucket=bucket)
    post = s3.generate_presigned_post(
        bucket, "uploads/${filename}", ExpiresIn=300,
        Fields={"acl": "public-read", "success_action_status": "201",
                "Content-Type": "text/plain", "x-amz-meta-origin": "form"},
        Conditions=[{"acl": "public-read"}, ["starts-with", "$key", "uploads/"],
                    {"success_action_status": "201"}, ["starts-with", "$Content-Type", "text/"],
                    {"x-amz-meta-origin": "form"}, ["content-length-range", 1, 1024]])
    status, headers, body = post_form(post["url"], post["fields"], b"hello form",
                                      after={"ignored": "after the file"})
    assert status == 201, body
    document = ET.fromstring(body)
    assert document.tag == "PostResponse" and document.findtext("Key") == "uploads/hello.txt"
    assert document.findtext("Bucket") == bucket and headers["ETag"] == \
        document.findtext("ETag")
    head = s3.head_object(Bucket=bucket, Key="uploads/hello.txt")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"origin": "form"}
    assert anonymous(cloud, "GET", f"{bucket}/uploads/hello.txt") == (200, b"hello form")

    def violation(fields, content=b"data", **kw):
        status, _, body = post_form(post["url"], {**post["fields"], **fields}, content, **kw)
        return status, error_code(body), body

    status, code, body = violation({"key": "elsewhere/x"})
    assert (status, code) == (403, "AccessDenied") and b"Policy Condition failed" in body
    assert violation({}, b"x" * 2048)[:2] == (400, "EntityTooLarge")
    assert violation({}, b"")[:2] == (400, "EntityTooSmall")
    status, code, body = violation({"x-amz-meta-extra": "1"})
    assert (status, code) == (403, "AccessDenied") and b"Extra input fields" in body
    assert violation({"acl": "public-read-write"})[:2] == (403, "AccessDenied")
    assert violation({"policy": post["fields"]["policy"][:-4] + "AAA="})[:2] == (
        403, "SignatureDoesNotMatch")
    assert violation({"policy": "bm90IGpzb24="})[:2] == (403, "SignatureDoesNotMatch")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["uploads/hello.txt"]


def test_sigv2_policy_redirect_and_anonymous_forms(cloud, tenants):
    owner, other = tenants
    s3 = owner.s3(signature_version="s3")
    bucket = unique("formv2")
    s3.create_bucket(Bucket=bucket)
    post = s3.generate_presigned_post(
        bucket, "v2.txt", ExpiresIn=300,
        Fields={"success_action_redirect": "http://example.invalid/done?x=1"},
        Conditions=[{"success_action_redirect": "http://example.invalid/done?x=1"}])
    assert "AWSAccessKeyId" in post["fields"] and "signature" in post["fields"]
    status, headers, body = post_form(post["url"], post["fields"], b"v2 form")
    assert status == 303, body
    assert headers["Location"].startswith("http://example.invalid/done?x=1&bucket=")
    assert "key=v2.txt" in headers["Location"]
    assert owner.s3().get_object(Bucket=bucket, Key="v2.txt")["Body"].read() == b"v2 form"
    # an unsigned form is anonymous: refused by a private bucket ...
    status, _, body = post_form(post["url"], {"key": "anon.txt"}, b"anon")
    assert status == 403 and error_code(body) == "AccessDenied"
    # ... accepted by a public-read-write one (204 without success_action_status)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    status, _, body = post_form(post["url"], {"key": "anon.txt"}, b"anon")
    assert status == 204, body
    assert anonymous(cloud, "GET", f"{bucket}/anon.txt")[0] == 403    # private to the bucket
    assert owner.s3().get_object(Bucket=bucket, Key="anon.txt")["Body"].read() == b"anon"
    # a form signed by an account without write access is refused
    theirs = other.s3().generate_presigned_post(bucket, "theirs.txt", ExpiresIn=300)
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    status, _, body = post_form(theirs["url"], theirs["fields"], b"nope")
    assert status == 403 and error_code(body) == "AccessDenied"
