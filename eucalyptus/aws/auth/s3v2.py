"""S3's own Signature Version 2: ``Authorization: AWS <key>:<signature>`` and the query form
``?AWSAccessKeyId=<key>&Expires=<epoch>&Signature=<signature>``.

The signature is base64(HMAC-SHA1(secret, string-to-sign)) where the string to sign is::

    METHOD \\n Content-MD5 \\n Content-Type \\n Date-or-Expires \\n
    x-amz-name:value \\n ... (lower-case names, sorted; repeated values joined by ",")
    /bucket/key?sub-resources (sorted; acl, uploadId, versionId, response-*, ...)

A request that carries ``x-amz-date`` signs an empty Date line (clients such as s3cmd do
that; botocore signs its Date header), and the resource is the path as sent, with or
without the ``/services/<name>`` prefix an endpoint may carry, or with the bucket of a
virtual-hosted request in front; a bucket named alone may be signed as ``/bucket/``.
``expected_signature`` recomputes the signature for each of those readings and gives the one
the client used (else the first), so the caller's single constant-time comparison decides.
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from eucalyptus.errors import AccessDenied, IncompleteSignature

from .signed_request import SignedRequest

SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "delete", "defaultObjectAcl", "inventory",
    "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "partNumber",
    "policy", "replication", "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "select", "select-type",
    "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website",
})
_SERVICE_PREFIX = re.compile(r"^/services/[^/]+(/.*)?$")


@dataclass
class S3V2Signature:
    access_key_id: str
    signature: str
    timestamp: dt.datetime | None       # header form: Date / x-amz-date, naive UTC
    expires: dt.datetime | None         # query form: Expires, naive UTC
    session_token: str | None
    query_form: bool
    expires_text: str = ""
    extra_amz: dict[str, str] = field(default_factory=dict)   # x-amz-* carried in the query


def _http_date(value: str) -> dt.datetime:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None:
        for fmt in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ"):
            try:
                return dt.datetime.strptime(value, fmt)
            except ValueError:
                continue
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def parse(request: SignedRequest) -> S3V2Signature | None:
    """The S3 V2 signature of ``request``, or None when it carries none."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("AWS "):
        key, sep, signature = auth[4:].strip().rpartition(":")
        if not sep or not key or not signature:
            raise IncompleteSignature(f"Authorization header is invalid -- one and only one ':' "
                                      f"is expected. Authorization={auth}")
        stamp = request.headers.get("X-Amz-Date") or request.headers.get("Date")
        if not stamp:
            raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
        return S3V2Signature(key, signature, _http_date(stamp), None,
                             request.headers.get("X-Amz-Security-Token"), query_form=False)
    query = dict(request.query_pairs())
    if "AWSAccessKeyId" in query and "SignatureVersion" not in query:
        if "Signature" not in query or "Expires" not in query:
            raise AccessDenied("Query-string authentication requires the Signature, Expires "
                               "and AWSAccessKeyId parameters")
        try:
            expires = dt.datetime.fromtimestamp(int(query["Expires"]), dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise AccessDenied("Invalid date (should be seconds since epoch): "
                               f"{query['Expires']}") from None
        extra = {k.lower(): v for k, v in query.items() if k.lower().startswith("x-amz-")}
        return S3V2Signature(query["AWSAccessKeyId"], query["Signature"], None,
                             expires.replace(tzinfo=None), extra.get("x-amz-security-token"),
                             query_form=True, expires_text=query["Expires"], extra_amz=extra)
    return None


def _amz_headers(request: SignedRequest, sig: S3V2Signature) -> str:
    found: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-"):
            found.setdefault(lower, []).append(" ".join(value.split()))
    for name, value in sig.extra_amz.items():
        found.setdefault(name, [value])
    return "".join(f"{name}:{','.join(found[name])}\n" for name in sorted(found))


def _subresources(request: SignedRequest) -> str:
    pairs = []
    for part in request.raw_query.split("&") if request.raw_query else []:
        key, sep, value = part.partition("=")
        if key in SUBRESOURCES:
            pairs.append(f"{key}={unquote(value)}" if sep else key)
    return "?" + "&".join(sorted(pairs, key=lambda p: p.split("=", 1)[0])) if pairs else ""


def _resources(request: SignedRequest) -> list[str]:
    path = request.raw_path or "/"
    readings = [path]
    prefixed = _SERVICE_PREFIX.match(path)
    if prefixed:
        readings.append(prefixed.group(1) or "/")
    host = request.headers.get("Host", "")
    host = "" if host.startswith("[") else host.rsplit(":", 1)[0]
    if "." in host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            readings.append("/" + host.split(".", 1)[0] + path)
    # a bucket named alone is signed as "/bucket/" by some clients (botocore's auth path)
    readings += [r + "/" for r in readings if r.count("/") == 1 and len(r) > 1]
    suffix = _subresources(request)
    return [reading + suffix for reading in readings]


def _date_lines(request: SignedRequest, sig: S3V2Signature) -> list[str]:
    if sig.query_form:
        return [sig.expires_text]
    lines = []
    if "X-Amz-Date" in request.headers:
        lines.append("")
    if "Date" in request.headers:
        lines.append(request.headers["Date"].strip())
    return lines or [""]


def strings_to_sign(request: SignedRequest, sig: S3V2Signature) -> list[str]:
    """Every string the client may have signed, the most likely first."""
    head = (f"{request.method}\n{request.headers.get('Content-MD5', '').strip()}\n"
            f"{request.headers.get('Content-Type', '').strip()}\n")
    amz = _amz_headers(request, sig)
    return [f"{head}{date}\n{amz}{resource}"
            for resource in _resources(request) for date in _date_lines(request, sig)]


def sign(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def expected_signature(request: SignedRequest, sig: S3V2Signature, secret: str) -> str:
    candidates = [sign(secret, text) for text in strings_to_sign(request, sig)]
    for candidate in candidates:
        if hmac.compare_digest(candidate, sig.signature):
            return candidate
    return candidates[0]
