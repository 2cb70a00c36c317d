"""Signature Version 4: the Authorization header form and the presigned query form.

``parse(request)`` finds the signature and returns a ``V4Signature`` (or ``None`` when the request
is not signed with V4); ``expected_signature(request, sig, secret)`` recomputes it. The caller
compares the two in constant time and checks the dates; nothing here looks up keys.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import posixpath
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from eucalyptus.errors import IncompleteSignature

from .signed_request import SignedRequest

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"


@dataclass
class V4Signature:
    access_key_id: str
    date: str              # YYYYMMDD of the scope
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    timestamp: dt.datetime  # X-Amz-Date (or Date) as naive UTC
    presigned: bool
    expires: int | None = None  # seconds, presigned only
    session_token: str | None = None


def _parse_amz_date(value: str) -> dt.datetime:
    if len(value) == 16 and value[8] == "T" and value[15] == "Z" and value[:8].isdigit() \
            and value[9:15].isdigit():           # the ISO 8601 basic form every SDK sends
        try:
            return dt.datetime(int(value[:4]), int(value[4:6]), int(value[6:8]),
                               int(value[9:11]), int(value[11:13]), int(value[13:15]))
        except ValueError:
            pass
    for fmt in ("%Y%m%dT%H%M%SZ", "%a, %d %b %Y %H:%M:%S GMT"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise IncompleteSignature(f"Invalid date {value!r}: expected the ISO 8601 basic format.")


def _scope(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise IncompleteSignature(
            f"Credential should be scoped to a valid region, not {credential!r}.")
    return parts[0], parts[1], parts[2], parts[3]


def parse(request: SignedRequest) -> V4Signature | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith(ALGORITHM + " "):
        fields = {}
        for item in auth[len(ALGORITHM) + 1:].split(","):
            key, _, value = item.strip().partition("=")
            fields[key] = value
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
        if missing:
            raise IncompleteSignature(
                f"Authorization header requires '{missing[0]}' parameter. Authorization={auth}")
        stamp = request.headers.get("X-Amz-Date") or request.headers.get("Date")
        if not stamp:
            raise IncompleteSignature("Authorization header requires existence of either a "
                                      "'X-Amz-Date' or a 'Date' header.")
        key, date, region, service = _scope(fields["Credential"])
        return V4Signature(key, date, region, service, fields["SignedHeaders"].split(";"),
                           fields["Signature"], _parse_amz_date(stamp), presigned=False,
                           session_token=request.headers.get("X-Amz-Security-Token"))
    query = dict(request.query_pairs())
    if query.get("X-Amz-Algorithm") == ALGORITHM:
        required = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
        missing = [k for k in required if not query.get(k)]
        if missing:
            raise IncompleteSignature(f"Query-string authentication requires the {missing[0]} "
                                      f"parameter.")
        key, date, region, service = _scope(query["X-Amz-Credential"])
        try:
            expires = int(query.get("X-Amz-Expires", "604800"))
        except ValueError:
            raise IncompleteSignature("X-Amz-Expires should be a number.") from None
        return V4Signature(key, date, region, service, query["X-Amz-SignedHeaders"].split(";"),
                           query["X-Amz-Signature"], _parse_amz_date(query["X-Amz-Date"]),
                           presigned=True, expires=expires,
                           session_token=query.get("X-Amz-Security-Token"))
    return None


def _canonical_path(raw_path: str, service: str) -> str:
    if service == "s3":
        return raw_path or "/"
    path = raw_path or "/"
    normalized = posixpath.normpath(path) if path not in ("", "/") else "/"
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(request: SignedRequest, presigned: bool) -> str:
    pairs = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in request.query_pairs()
             if not (presigned and k == "X-Amz-Signature")]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_headers(request: SignedRequest, names: list[str]) -> str:
    lines = []
    for name in names:
        values = request.headers.getall(name, [])
        lines.append(f"{name}:" + ",".join(" ".join(v.split()) for v in values))
    return "\n".join(lines) + "\n"


def _payload_hash(request: SignedRequest, sig: V4Signature) -> str:
    declared = request.headers.get("X-Amz-Content-SHA256")
    if declared:
        return declared
    if sig.presigned and sig.service == "s3":
        return UNSIGNED
    return request.body_sha256()


def canonical_request(request: SignedRequest, sig: V4Signature) -> str:
    return "\n".join([
        request.method,
        _canonical_path(request.raw_path, sig.service),
        _canonical_query(request, sig.presigned),
        _canonical_headers(request, sig.signed_headers),
        ";".join(sig.signed_headers),
        _payload_hash(request, sig),
    ])


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The day's derived key of a scope (remembered: a client signs many requests a day)."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def expected_signature(request: SignedRequest, sig: V4Signature, secret: str) -> str:
    scope = f"{sig.date}/{sig.region}/{sig.service}/aws4_request"
    string_to_sign = "\n".join([
        ALGORITHM, sig.timestamp.strftime("%Y%m%dT%H%M%SZ"), scope,
        hashlib.sha256(canonical_request(request, sig).encode()).hexdigest(),
    ])
    key = signing_key(secret, sig.date, sig.region, sig.service)
    return hmac.digest(key, string_to_sign.encode(), "sha256").hex()
