"""S3's SigV2 header and query forms, signed by botocore's own HmacV1 signers and by hand as
s3cmd signs (x-amz-date, empty Date line, path without the service prefix)."""
from __future__ import annotations

import datetime as dt
import email.utils
import time

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eucalyptus import errors
from eucalyptus.aws.auth import SignedRequest, authenticate, s3v2
from tests.fakes.signing import KEY, SECRET, lookup, to_signed

URL = "http://127.0.0.1:8777/services/objectstorage/bucket-1/some%20key.txt"


def test_header_form_from_botocore_accepted():
    req = AWSRequest("PUT", URL + "?acl", data=b"<x/>",
                     headers={"Content-Type": "application/xml", "x-amz-acl": "public-read",
                              "x-amz-meta-Color": "blue"})
    HmacV1Auth(Credentials(KEY, SECRET)).add_auth(req)
    signed = to_signed(req)
    assert isinstance(s3v2.parse(signed), s3v2.S3V2Signature)
    assert authenticate(signed, "s3", lookup).principal == "someone"


def test_header_form_tampering_refused():
    req = AWSRequest("GET", URL, headers={"x-amz-meta-a": "1"})
    HmacV1Auth(Credentials(KEY, SECRET)).add_auth(req)
    signed = to_signed(req)
    signed.headers["x-amz-meta-a"] = "2"
    with pytest.raises(errors.SignatureDoesNotMatch):
        authenticate(signed, "s3", lookup)
    signed = to_signed(req)
    signed.raw_path = signed.raw_path.replace("bucket-1", "bucket-2")
    with pytest.raises(errors.SignatureDoesNotMatch):
        authenticate(signed, "s3", lookup)


def test_s3cmd_style_x_amz_date_and_short_path():
    date = email.utils.formatdate(usegmt=True)
    text = f"GET\n\n\n\nx-amz-date:{date}\n/bucket-1/some%20key.txt?acl"
    headers = {"Host": "127.0.0.1:8777", "x-amz-date": date,
               "Authorization": f"AWS {KEY}:{s3v2.sign(SECRET, text)}"}
    signed = SignedRequest.from_parts("GET", "/services/objectstorage/bucket-1/some%20key.txt"
                                      "?acl", headers)
    assert authenticate(signed, "s3", lookup).principal == "someone"


def test_virtual_host_reading():
    date = email.utils.formatdate(usegmt=True)
    text = f"GET\n\n\n{date}\n/bucket-1/k"
    headers = {"Host": "bucket-1.s3.example.internal", "Date": date,
               "Authorization": f"AWS {KEY}:{s3v2.sign(SECRET, text)}"}
    assert authenticate(SignedRequest.from_parts("GET", "/k", headers), "s3", lookup)


def test_old_date_refused():
    old = email.utils.formatdate(time.time() - 3600, usegmt=True)
    text = f"GET\n\n\n{old}\n/bucket-1/k"
    headers = {"Host": "127.0.0.1", "Date": old,
               "Authorization": f"AWS {KEY}:{s3v2.sign(SECRET, text)}"}
    with pytest.raises(errors.AccessDenied):
        authenticate(SignedRequest.from_parts("GET", "/bucket-1/k", headers), "s3", lookup)


def test_query_form_works_then_expires():
    req = AWSRequest("GET", URL + "?response-content-type=text/plain")
    HmacV1QueryAuth(Credentials(KEY, SECRET), expires=60).add_auth(req)
    signed = to_signed(req)
    sig = s3v2.parse(signed)
    assert sig.query_form and sig.expires is not None
    assert authenticate(signed, "s3", lookup).principal == "someone"
    later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=120)
    with pytest.raises(errors.AccessDenied) as info:
        authenticate(signed, "s3", lookup, now=later)
    assert info.value.message == "Request has expired"


def test_query_form_with_session_token_and_wrong_key():
    req = AWSRequest("GET", URL)
    HmacV1QueryAuth(Credentials(KEY, SECRET, "tok"), expires=60).add_auth(req)
    signed = to_signed(req)
    assert s3v2.parse(signed).session_token == "tok"
    with pytest.raises(errors.AuthError) as info:
        authenticate(signed, "s3", lambda key: None)
    assert info.value.code == "InvalidAccessKeyId"


@pytest.mark.parametrize("auth", ["AWS nocolon", "AWS :sig", "AWS key:"])
def test_malformed_header_refused(auth):
    signed = SignedRequest.from_parts("GET", "/b", {"Authorization": auth, "Date": "x"})
    with pytest.raises(errors.IncompleteSignature):
        s3v2.parse(signed)


def test_query_form_needs_expires_and_signature():
    with pytest.raises(errors.AccessDenied):
        s3v2.parse(SignedRequest.from_parts("GET", "/b?AWSAccessKeyId=K&Signature=s", {}))
    with pytest.raises(errors.AccessDenied):
        s3v2.parse(SignedRequest.from_parts("GET", "/b?AWSAccessKeyId=K&Signature=s&Expires=x",
                                            {}))
    # the query APIs' SignatureVersion=2 form is not S3's
    assert s3v2.parse(SignedRequest.from_parts(
        "GET", "/?AWSAccessKeyId=K&SignatureVersion=2&Signature=s", {})) is None


def test_bucket_alone_signed_with_trailing_slash():
    """botocore signs a bucket-level request as "/bucket/" whatever the endpoint's path."""
    req = AWSRequest("PUT", "http://127.0.0.1:8777/services/objectstorage/bucket-1")
    req.auth_path = "/bucket-1/"
    HmacV1Auth(Credentials(KEY, SECRET)).add_auth(req)
    assert authenticate(to_signed(req), "s3", lookup).principal == "someone"
