"""Browser POST policies: decoding, conditions, and signatures made by botocore's own
generate_presigned_post signers (V4 and V2)."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from botocore.auth import HmacV1PostAuth, S3SigV4PostAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eucalyptus.errors import AccessDenied, ServiceError
from eucalyptus.services.s3 import post_policy
from tests.fakes.signing import KEY, SECRET, lookup

SOON = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).strftime(
    "%Y-%m-%dT%H:%M:%SZ")


def b64(doc) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def signed_fields(auth_class, conditions, fields=None):
    request = AWSRequest("POST", "http://127.0.0.1/bucket")
    request.context["s3-presign-post-fields"] = dict(fields or {})
    request.context["s3-presign-post-policy"] = {"expiration": SOON,
                                                 "conditions": list(conditions)}
    if auth_class is S3SigV4PostAuth:
        auth_class(Credentials(KEY, SECRET), "s3", "eucalyptus").add_auth(request)
    else:
        auth_class(Credentials(KEY, SECRET)).add_auth(request)
    return {k.lower(): v for k, v in request.context["s3-presign-post-fields"].items()}


@pytest.mark.parametrize("auth_class", [S3SigV4PostAuth, HmacV1PostAuth])
def test_botocore_signed_policies_verify_and_hold(auth_class):
    fields = signed_fields(auth_class, [{"bucket": "bkt"}, ["starts-with", "$key", "up/"],
                                        ["content-length-range", 1, 100]],
                           {"key": "up/file.txt"})
    assert post_policy.verify(fields, lookup).secret == SECRET
    rules = post_policy.decode(fields["policy"])
    assert rules.check(fields, "bkt") == (1, 100)
    with pytest.raises(AccessDenied) as info:
        rules.check(dict(fields, key="down/file.txt"), "bkt")
    assert "Policy Condition failed" in info.value.message
    with pytest.raises(AccessDenied):
        rules.check(fields, "other-bucket")
    with pytest.raises(AccessDenied) as info:
        rules.check(dict(fields, acl="public-read"), "bkt")
    assert info.value.message == "Invalid according to Policy: Extra input fields: acl"
    tampered = dict(fields, policy=b64({"expiration": SOON, "conditions": []}))
    with pytest.raises(ServiceError) as info:
        post_policy.verify(tampered, lookup)
    assert info.value.code == "SignatureDoesNotMatch"


def test_unknown_key_and_unsigned_forms():
    fields = signed_fields(HmacV1PostAuth, [])
    with pytest.raises(ServiceError) as info:
        post_policy.verify(fields, lambda key: None)
    assert info.value.code == "InvalidAccessKeyId" and info.value.status == 403
    assert post_policy.verify({"key": "k"}, lookup) is None
    with pytest.raises(ServiceError) as info:
        post_policy.verify({"key": "k", "awsaccesskeyid": KEY, "signature": "x"}, lookup)
    assert info.value.code == "InvalidArgument"


def test_expired_policy():
    rules = post_policy.decode(b64({"expiration": "2001-01-01T00:00:00.000Z",
                                    "conditions": []}))
    with pytest.raises(AccessDenied) as info:
        rules.check({}, "bkt")
    assert info.value.message == "Invalid according to Policy: Policy expired."


def test_exact_and_ignored_fields():
    rules = post_policy.decode(b64({"expiration": SOON, "conditions": [
        ["eq", "$Content-Type", "text/plain"], {"success_action_status": "201"},
        ["starts-with", "$key", ""]]}))
    fields = {"key": "k", "content-type": "text/plain", "success_action_status": "201",
              "x-ignore-me": "1", "policy": "p", "file": ""}
    assert rules.check(fields, "b") == (0, post_policy.MAX_SIZE)
    with pytest.raises(AccessDenied):
        rules.check(dict(fields, **{"content-type": "text/html"}), "b")


@pytest.mark.parametrize("doc", [
    "not base64 json",
    b64({"conditions": []}),
    b64({"expiration": "tomorrow", "conditions": []}),
    b64({"expiration": SOON}),
    b64({"expiration": SOON, "conditions": [["content-length-range", 10, 1]]}),
    b64({"expiration": SOON, "conditions": [["matches", "$key", ".*"]]}),
    b64({"expiration": SOON, "conditions": [["eq", "key", "x"]]}),
    b64({"expiration": SOON, "conditions": [{"a": "1", "b": "2"}]}),
], ids=["not-base64", "no-expiration", "bad-expiration", "no-conditions", "bad-range",
        "unknown-operation", "eq-without-dollar", "two-properties"])
def test_invalid_policy_documents(doc):
    with pytest.raises(ServiceError) as info:
        post_policy.decode(doc)
    assert info.value.code == "InvalidPolicyDocument" and info.value.status == 400


def test_which_requests_are_form_uploads():
    from eucalyptus.services.s3.post_upload import form_bucket
    form = {"Content-Type": "multipart/form-data; boundary=x"}
    assert form_bucket("POST", "/photos", form) == "photos"
    assert form_bucket("POST", "/photos/", form) == "photos"
    assert form_bucket("POST", "/photos/key", form) is None
    assert form_bucket("POST", "/photos", {"Content-Type": "application/xml"}) is None
    assert form_bucket("PUT", "/photos", form) is None
