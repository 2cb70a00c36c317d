"""Bucket CORS end to end: the configuration through boto3 and the AWS CLI, preflight OPTIONS
requests from urllib (allowed and refused) and the CORS headers on actual requests."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_clients import empty_bucket, s3_client, unique_bucket

RULES = [
    {"AllowedOrigins": ["http://app.example.com"], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["ETag"],
     "MaxAgeSeconds": 600, "ID": "app"},
    {"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET"]},
]


@pytest.fixture
def bucket(cloud):
    s3 = s3_client(cloud)
    name = unique_bucket("cors")
    s3.create_bucket(Bucket=name)
    yield s3, name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def options(cloud, path: str, headers: dict) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"{cloud.endpoint('s3')}/{path}", method="OPTIONS",
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_configuration_round_trip_and_errors(bucket):
    s3, name = bucket
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=name)
    assert info.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"] == RULES
    for bad, code in [([{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}],
                       "InvalidRequest"),
                      ([{"AllowedOrigins": ["http://*.*.com"], "AllowedMethods": ["GET"]}],
                       "InvalidRequest")]:
        with pytest.raises(ClientError) as info:
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": bad})
        assert info.value.response["Error"]["Code"] == code
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"] == RULES     # unchanged by failures
    s3.delete_bucket_cors(Bucket=name)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=name)
    assert info.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


def test_preflight_allowed_and_denied(cloud, bucket):
    s3, name = bucket
    status, _, body = options(cloud, name, {"Origin": "http://app.example.com",
                                            "Access-Control-Request-Method": "GET"})
    assert status == 403 and b"CORS is not enabled" in body
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})
    status, headers, _ = options(cloud, f"{name}/some/key.txt", {
        "Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type, x-amz-date"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://app.example.com"
    assert headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert headers["Access-Control-Max-Age"] == "600"
    assert headers["Access-Control-Expose-Headers"] == "ETag"
    assert "Origin" in headers["Vary"]
    status, headers, _ = options(cloud, name, {"Origin": "https://cdn.example.org",
                                               "Access-Control-Request-Method": "GET"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://cdn.example.org"
    for refused in ({"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"},
                    {"Origin": "https://cdn.example.org", "Access-Control-Request-Method": "PUT"},
                    {"Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT",
                     "Access-Control-Request-Headers": "authorization"}):
        status, headers, body = options(cloud, f"{name}/k", refused)
        assert status == 403, refused
        assert b"<Code>AccessForbidden</Code>" in body
        assert b"CORSResponse: This CORS request is not allowed" in body
        assert "Access-Control-Allow-Origin" not in headers
    status, _, body = options(cloud, name, {"Access-Control-Request-Method": "GET"})
    assert status == 400 and b"BadRequest" in body


def test_actual_requests_carry_cors_headers(cloud, bucket):
    s3, name = bucket
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})

    def add_origin(request, **_):
        request.headers["Origin"] = "http://app.example.com"
    s3.meta.events.register("before-sign.s3.PutObject", add_origin)
    try:
        put = s3.put_object(Bucket=name, Key="page.html", Body=b"<p>hi</p>")
    finally:
        s3.meta.events.unregister("before-sign.s3.PutObject", add_origin)
    sent = put["ResponseMetadata"]["HTTPHeaders"]
    assert sent["access-control-allow-origin"] == "http://app.example.com"
    assert sent["access-control-expose-headers"] == "ETag"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "page.html"})
    for origin, expected in (("https://x.example.org", "https://x.example.org"),
                             ("http://evil.test", None)):
        request = urllib.request.Request(url, headers={"Origin": origin})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.read() == b"<p>hi</p>"
            assert response.headers.get("Access-Control-Allow-Origin") == expected


def test_aws_cli_put_and_get_cors(cloud, bucket):
    _, name = bucket
    config = json.dumps({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    done = cloud.aws("s3api", "put-bucket-cors", "--bucket", name, "--cors-configuration",
                     config)
    assert done.returncode == 0, done.stderr
    done = cloud.aws("s3api", "get-bucket-cors", "--bucket", name, "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["CORSRules"] == [{"AllowedOrigins": ["*"],
                                                     "AllowedMethods": ["GET"]}]
    status, headers, _ = options(cloud, name, {"Origin": "http://anyone.test",
                                               "Access-Control-Request-Method": "GET"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
