"""Authentication of user requests: which key signed this request, and is it still good?

``authenticate(request, service, lookup)`` returns the credential that signed ``request`` or
raises the error AWS sends for that service (EC2 speaks AuthFailure/RequestExpired, the query
services InvalidClientTokenId/ExpiredToken, S3 InvalidAccessKeyId/AccessDenied). ``lookup`` maps
an access key id to an object with ``secret``, ``active``, ``session_token``, ``expires_at`` (naive
UTC) and ``principal`` — or ``None`` for a key that does not exist (deleted keys stop at once).
Signatures understood: V4 (header and presigned query), the query APIs' V2 (``sigv2``) and
S3's own V2 (``s3v2``: ``Authorization: AWS key:sig`` and ``?AWSAccessKeyId&Expires&Signature``).
"""
from __future__ import annotations

import datetime as dt
import hmac
from typing import Any, Callable

from eucalyptus import errors

from . import s3v2, sigv2, sigv4
from .signed_request import SignedRequest

MAX_SKEW = dt.timedelta(minutes=15)
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

__all__ = ["SignedRequest", "authenticate", "signature_service"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _unknown_key(service: str) -> errors.ServiceError:
    if service == "ec2":
        return errors.AuthFailure("AWS was not able to validate the provided access credentials")
    if service == "s3":
        return errors.AuthError("InvalidAccessKeyId", "The AWS Access Key Id you provided does "
                                "not exist in our records.", status=403)
    return errors.InvalidClientTokenId("The security token included in the request is invalid.")


def _bad_signature() -> errors.ServiceError:
    return errors.SignatureDoesNotMatch(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service "
        "documentation for details.")


def _expired_request(service: str, detail: str) -> errors.ServiceError:
    if service == "s3":
        return errors.AccessDenied("Request has expired")
    return errors.RequestExpired(f"Request has expired. {detail}".strip())


def _expired_token(service: str) -> errors.ServiceError:
    if service == "ec2":
        return errors.RequestExpired("Request has expired.")
    if service == "s3":
        return errors.AuthError("ExpiredToken", "The provided token has expired.", status=400)
    return errors.ExpiredToken("The security token included in the request is expired",
                               status=403)


def _missing(service: str) -> errors.ServiceError:
    if service == "ec2":
        return errors.AuthFailure("AWS was not able to validate the provided access credentials")
    if service == "s3":
        return errors.AccessDenied("Access Denied")
    return errors.MissingAuthenticationToken("Request is missing Authentication Token")


def signature_service(request: SignedRequest) -> str | None:
    """The service named in a V4 signature's credential scope, if the request carries one."""
    try:
        sig = sigv4.parse(request)
    except errors.ServiceError:
        return None
    return sig.service if sig else None


def _check_time(sig: Any, service: str, now: dt.datetime) -> None:
    if isinstance(sig, sigv4.V4Signature) and sig.presigned:
        if not 1 <= (sig.expires or 0) <= MAX_PRESIGN_SECONDS:
            raise errors.AuthError("AuthorizationQueryParametersError",
                                   "X-Amz-Expires must be between 1 and 604800 seconds",
                                   status=400)
        if now > sig.timestamp + dt.timedelta(seconds=sig.expires):
            raise _expired_request(service, f"Expired at {sig.timestamp:%Y-%m-%dT%H:%M:%SZ} "
                                            f"+ {sig.expires}s")
        if sig.timestamp - now > MAX_SKEW:
            raise _expired_request(service, "Request is not yet valid.")
        return
    if isinstance(sig, (sigv2.V2Signature, s3v2.S3V2Signature)) and sig.expires is not None:
        if now > sig.expires:
            raise _expired_request(service, f"Expired at {sig.expires:%Y-%m-%dT%H:%M:%SZ}.")
        return
    if abs(now - sig.timestamp) > MAX_SKEW:
        raise _expired_request(service, f"Request timestamp {sig.timestamp:%Y-%m-%dT%H:%M:%SZ} "
                                        f"differs from the server time by more than 15 minutes.")


def authenticate(request: SignedRequest, service: str, lookup: Callable[[str], Any],
                 now: dt.datetime | None = None) -> Any:
    now = now or _utcnow()
    sig: Any = sigv4.parse(request) or s3v2.parse(request) or sigv2.parse(request)
    if sig is None:
        raise _missing(service)
    _check_time(sig, service, now)
    cred = lookup(sig.access_key_id)
    if cred is None or not cred.active:
        raise _unknown_key(service)
    if cred.session_token is not None or sig.session_token is not None:
        if not sig.session_token or not cred.session_token or not hmac.compare_digest(
                sig.session_token, cred.session_token):
            raise _unknown_key(service)
        if cred.expires_at is not None and now >= cred.expires_at:
            raise _expired_token(service)
    module = (sigv4 if isinstance(sig, sigv4.V4Signature)
              else s3v2 if isinstance(sig, s3v2.S3V2Signature) else sigv2)
    expected = module.expected_signature(request, sig, cred.secret)
    if not hmac.compare_digest(expected, sig.signature):
        raise _bad_signature()
    return cred
