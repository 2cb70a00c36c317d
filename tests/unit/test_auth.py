"""Signatures made by botocore's own signers are accepted; tampering, age and bad keys are not."""
from __future__ import annotations

import datetime as dt

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eucalyptus import errors
from eucalyptus.aws.auth import authenticate, signature_service
from tests.fakes.signing import Cred, KEY, SECRET, lookup_with, to_signed


def form_request(url="http://127.0.0.1:8773/services/Euare", body="Action=ListUsers&Version=2010-05-08"):
    return AWSRequest(method="POST", url=url, data=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def sign_v4(req, service="iam", token=None):
    SigV4Auth(Credentials(KEY, SECRET, token), service, "eucalyptus").add_auth(req)
    return req


def test_sigv4_header_accepted_and_service_read():
    signed = to_signed(sign_v4(form_request()))
    assert authenticate(signed, "iam", lookup_with(Cred())).principal == "someone"
    assert signature_service(signed) == "iam"


def test_sigv4_odd_path_and_query_accepted():
    req = AWSRequest(method="GET", url="http://127.0.0.1:8773/services/compute/a%20b/?Action=Describe"
                     "Regions&Filter.1.Name=a%2Fb&Empty=&Z=~%20")
    SigV4Auth(Credentials(KEY, SECRET), "ec2", "eucalyptus").add_auth(req)
    assert authenticate(to_signed(req), "ec2", lookup_with(Cred()))


def test_sigv4_tampered_body_rejected():
    signed = to_signed(sign_v4(form_request()))
    signed.body = signed.body.replace(b"ListUsers", b"ListGroups")
    with pytest.raises(errors.SignatureDoesNotMatch):
        authenticate(signed, "iam", lookup_with(Cred()))


def test_wrong_secret_rejected():
    signed = to_signed(sign_v4(form_request()))
    with pytest.raises(errors.SignatureDoesNotMatch) as info:
        authenticate(signed, "iam", lookup_with(Cred(secret="other")))
    assert info.value.status == 403


@pytest.mark.parametrize("service,code,status", [
    ("ec2", "AuthFailure", 401), ("iam", "InvalidClientTokenId", 403),
    ("sts", "InvalidClientTokenId", 403), ("s3", "InvalidAccessKeyId", 403)])
def test_unknown_and_inactive_keys(service, code, status):
    signed = to_signed(sign_v4(form_request(), service))
    for lookup in (lambda key: None, lookup_with(Cred(active=False))):
        with pytest.raises(errors.ServiceError) as info:
            authenticate(signed, service, lookup)
        assert (info.value.code, info.value.status) == (code, status)


def test_old_request_expired():
    signed = to_signed(sign_v4(form_request(), "ec2"))
    later = dt.datetime.utcnow() + dt.timedelta(minutes=20)
    with pytest.raises(errors.RequestExpired):
        authenticate(signed, "ec2", lookup_with(Cred()), now=later)


def test_unsigned_request():
    signed = to_signed(form_request())
    with pytest.raises(errors.MissingAuthenticationToken):
        authenticate(signed, "iam", lookup_with(Cred()))
    with pytest.raises(errors.AuthFailure):
        authenticate(signed, "ec2", lookup_with(Cred()))


def test_presigned_query_accepted_then_expires():
    req = AWSRequest(method="GET", url="http://127.0.0.1:8773/services/compute?Action=DescribeRegions")
    SigV4QueryAuth(Credentials(KEY, SECRET), "ec2", "eucalyptus", expires=60).add_auth(req)
    signed = to_signed(req)
    assert authenticate(signed, "ec2", lookup_with(Cred()))
    with pytest.raises(errors.RequestExpired):
        authenticate(signed, "ec2", lookup_with(Cred()),
                     now=dt.datetime.utcnow() + dt.timedelta(seconds=120))


def test_s3_header_and_presigned():
    req = AWSRequest(method="PUT", url="http://127.0.0.1:8777/bucket/some%20key", data=b"hello")
    S3SigV4Auth(Credentials(KEY, SECRET), "s3", "eucalyptus").add_auth(req)
    assert authenticate(to_signed(req), "s3", lookup_with(Cred()))
    req = AWSRequest(method="GET", url="http://127.0.0.1:8777/bucket/some%20key")
    S3SigV4QueryAuth(Credentials(KEY, SECRET), "s3", "eucalyptus", expires=30).add_auth(req)
    signed = to_signed(req)
    assert authenticate(signed, "s3", lookup_with(Cred()))
    with pytest.raises(errors.AccessDenied):
        authenticate(signed, "s3", lookup_with(Cred()),
                     now=dt.datetime.utcnow() + dt.timedelta(seconds=60))


def test_sigv2_accepted_and_tamper_rejected():
    req = form_request(url="http://127.0.0.1:8773/services/compute",
                       body={"Action": "DescribeRegions", "Version": "2016-11-15"})
    SigV2Auth(Credentials(KEY, SECRET)).add_auth(req)
    signed = to_signed(req)
    assert authenticate(signed, "ec2", lookup_with(Cred()))
    signed.form = [(k, "DescribeImages" if k == "Action" else v) for k, v in signed.form]
    with pytest.raises(errors.SignatureDoesNotMatch):
        authenticate(signed, "ec2", lookup_with(Cred()))


def test_session_token_required_and_expiry():
    expiry = dt.datetime.utcnow() + dt.timedelta(minutes=5)
    cred = Cred(session_token="tok", expires_at=expiry)
    ok = to_signed(sign_v4(form_request(), "sts", token="tok"))
    assert authenticate(ok, "sts", lookup_with(cred))
    with pytest.raises(errors.InvalidClientTokenId):
        authenticate(to_signed(sign_v4(form_request(), "sts")), "sts", lookup_with(cred))
    with pytest.raises(errors.InvalidClientTokenId):
        authenticate(to_signed(sign_v4(form_request(), "sts", token="bad")), "sts", lookup_with(cred))
    with pytest.raises(errors.ExpiredToken):
        authenticate(ok, "sts", lookup_with(cred), now=expiry + dt.timedelta(seconds=1))
