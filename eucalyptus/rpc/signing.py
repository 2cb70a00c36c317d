"""Signatures on internal requests.

A request carries three headers:

    X-Euca-Component: <caller name>          (its key is DIR/keys/<name>.pub on the server)
    X-Euca-Date:      20250101T120000Z       (UTC; accepted within MAX_SKEW of the server clock)
    X-Euca-Signature: base64(Ed25519 signature of string_to_sign(...))

The signed text binds the method, the path with its query string, the date and the SHA-256 of
the body, so a captured request cannot be replayed against another path or with another body,
nor after the skew window.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

from eucalyptus.errors import AuthFailure, IncompleteSignature, RequestExpired

ALGORITHM = "EUCA-RPC-ED25519"
MAX_SKEW = dt.timedelta(minutes=5)
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
H_COMPONENT, H_DATE, H_SIGNATURE = "X-Euca-Component", "X-Euca-Date", "X-Euca-Signature"


def string_to_sign(method: str, path_qs: str, date: str, body: bytes) -> bytes:
    return "\n".join([ALGORITHM, method.upper(), path_qs, date,
                      hashlib.sha256(body).hexdigest()]).encode()


def now_text(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.timezone.utc)).strftime(DATE_FORMAT)


def sign(key: Ed25519PrivateKey, caller: str, method: str, path_qs: str, body: bytes,
         now: dt.datetime | None = None) -> dict[str, str]:
    """The headers that authenticate this request as ``caller``."""
    date = now_text(now)
    signature = key.sign(string_to_sign(method, path_qs, date, body))
    return {H_COMPONENT: caller, H_DATE: date,
            H_SIGNATURE: base64.b64encode(signature).decode()}


def verify(trusted: dict[str, Ed25519PublicKey], headers, method: str, path_qs: str,
           body: bytes, now: dt.datetime | None = None) -> str:
    """The caller's name if the headers sign this request; raises an AuthError otherwise."""
    caller, date, signature = (headers.get(h) for h in (H_COMPONENT, H_DATE, H_SIGNATURE))
    if not caller or not date or not signature:
        raise IncompleteSignature("internal request without X-Euca-Component, X-Euca-Date "
                                  "and X-Euca-Signature")
    key = trusted.get(caller)
    if key is None:
        raise AuthFailure(f"unknown component {caller!r}")
    try:
        when = dt.datetime.strptime(date, DATE_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise IncompleteSignature(f"bad X-Euca-Date {date!r}") from None
    current = now or dt.datetime.now(dt.timezone.utc)
    if abs(current - when) > MAX_SKEW:
        raise RequestExpired(f"request date {date} is more than 5 minutes from the server's "
                             f"clock ({now_text(current)})")
    try:
        key.verify(base64.b64decode(signature, validate=True),
                   string_to_sign(method, path_qs, date, body))
    except (InvalidSignature, ValueError):
        raise AuthFailure(f"signature of {caller!r} does not match the request") from None
    return caller
