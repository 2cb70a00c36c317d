"""Signature Version 2 for the query APIs (EC2, IAM, STS): parameters AWSAccessKeyId,
SignatureVersion=2, SignatureMethod (HmacSHA256 or HmacSHA1), Timestamp or Expires, Signature.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

from eucalyptus.errors import IncompleteSignature, InvalidParameterValue

from .signed_request import SignedRequest

DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


@dataclass
class V2Signature:
    access_key_id: str
    method: str
    signature: str
    timestamp: dt.datetime | None
    expires: dt.datetime | None
    session_token: str | None
    params: dict[str, str]


def _parse_time(value: str, name: str) -> dt.datetime:
    text = value.replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameterValue(f"Invalid {name}: {value}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def parse(request: SignedRequest) -> V2Signature | None:
    params = request.params()
    if params.get("SignatureVersion") != "2" or "AWSAccessKeyId" not in params:
        return None
    if "Signature" not in params:
        raise IncompleteSignature("Request is missing the Signature parameter.")
    method = params.get("SignatureMethod", "HmacSHA256")
    if method not in DIGESTS:
        raise InvalidParameterValue(f"Invalid SignatureMethod: {method}")
    timestamp = params.get("Timestamp")
    expires = params.get("Expires")
    if not timestamp and not expires:
        raise IncompleteSignature("Request must contain either a valid Timestamp or Expires.")
    return V2Signature(params["AWSAccessKeyId"], method, params["Signature"],
                       _parse_time(timestamp, "Timestamp") if timestamp else None,
                       _parse_time(expires, "Expires") if expires else None,
                       params.get("SecurityToken"), params)


def expected_signature(request: SignedRequest, sig: V2Signature, secret: str) -> str:
    host = request.headers.get("Host", "").lower()
    pairs = [f"{quote(k, safe='')}={quote(v, safe='-_~')}"
             for k, v in sorted(sig.params.items()) if k != "Signature"]
    string_to_sign = f"{request.method}\n{host}\n{request.raw_path or '/'}\n" + "&".join(pairs)
    digest = hmac.new(secret.encode(), string_to_sign.encode(), DIGESTS[sig.method]).digest()
    return base64.b64encode(digest).decode()
