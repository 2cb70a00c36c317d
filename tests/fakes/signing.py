"""A stored access key as the authenticators see it, for tests that sign with botocore.

``KEY``/``SECRET`` are the test key pair; ``Cred`` has the fields the authenticators read from
a credential lookup; ``lookup_with(cred)`` answers ``cred`` for ``KEY`` only, and ``lookup``
answers an active default ``Cred``. ``to_signed(request)`` turns a request botocore signed
into the ``SignedRequest`` the server side authenticates.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.awsrequest import AWSRequest

from eucalyptus.aws.auth import SignedRequest

KEY, SECRET = "AKIAEXAMPLEEXAMPLE00", "s3cr3t/s3cr3t+s3cr3t/s3cr3t+s3cr3t/0123"


@dataclass
class Cred:
    secret: str = SECRET
    active: bool = True
    session_token: str | None = None
    expires_at: dt.datetime | None = None
    principal: str = "someone"


def lookup_with(cred: Cred):
    return lambda key: cred if key == KEY else None


def lookup(key: str) -> Cred | None:
    return Cred() if key == KEY else None


def to_signed(req: AWSRequest) -> SignedRequest:
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    path_qs = parts.path + ("?" + parts.query if parts.query else "")
    headers = dict(prepared.headers)
    headers.setdefault("Host", parts.netloc)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return SignedRequest.from_parts(prepared.method, path_qs, headers, body)
