"""The instance metadata service, as EC2 serves it at http://169.254.169.254/.

Which instance asks is decided by the TCP source address alone (the DNAT in the cloud's
namespace keeps it): an address that belongs to no registered instance gets 404 on every path.

Paths: ``/`` lists the versions; ``/<version>/`` (``latest`` or a date such as ``2009-04-04``,
all aliases) holds ``meta-data/...``, ``user-data`` (404 when the instance has none) and
``dynamic/instance-identity/document``. Directories answer with their index with or without
the trailing slash.

IMDSv2: ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (1..21600,
else 400; a request carrying ``X-Forwarded-For`` is refused with 403) returns a session token
bound to the caller's address. A request carrying ``X-aws-ec2-metadata-token`` must present a
valid, unexpired token issued to that same address (401 otherwise); requests without the header
(IMDSv1) are answered too, unless the instance's document says ``http-tokens: required``.
Tokens are HMACs under a per-process key: restarting the service invalidates them, as a
restarted EC2 metadata service does.

The service is ``make_app(store)``; ``MetadataStore`` holds the records, optionally persisted as
one JSON file per instance so a cluster-controller restart keeps answering.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import time
from pathlib import Path
from typing import Callable

from aiohttp import web

from eucalyptus.cc.vnet.addresses import check_instance_id
from eucalyptus.cc.vnet.metadata_tree import (VERSIONS, Record, build_tree, check_document,
                                              render)
from eucalyptus.errors import InvalidParameterValue

TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
MAX_TTL_S = 21600


class MetadataStore:
    """Registered instances by id and by private address; ``directory`` persists them."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else None
        self.by_id: dict[str, Record] = {}
        if self.directory is not None and self.directory.is_dir():
            for path in sorted(self.directory.glob("i-*.json")):
                data = json.loads(path.read_text())
                self.by_id[data["instance_id"]] = Record(**data)

    def put(self, instance_id: str, private_ip: str, document: dict) -> Record:
        """Register (or replace) an instance's metadata. The address must be an IPv4 address
        not held by another registered instance (InvalidParameterValue otherwise)."""
        check_instance_id(instance_id)
        try:
            private_ip = str(ipaddress.IPv4Address(private_ip))
        except ValueError:
            raise InvalidParameterValue(f"bad private address {private_ip!r}") from None
        holder = self.by_ip(private_ip)
        if holder is not None and holder.instance_id != instance_id:
            raise InvalidParameterValue(
                f"{private_ip} is registered to {holder.instance_id}, not {instance_id}")
        record = Record(instance_id, private_ip, check_document(document))
        self.by_id[instance_id] = record
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{instance_id}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"instance_id": instance_id, "private_ip": private_ip,
                                       "document": record.document}))
            os.replace(tmp, path)
        return record

    def delete(self, instance_id: str) -> bool:
        """Forget an instance; whether it was registered."""
        found = self.by_id.pop(instance_id, None) is not None
        if self.directory is not None:
            (self.directory / f"{instance_id}.json").unlink(missing_ok=True)
        return found

    def get(self, instance_id: str) -> Record | None:
        return self.by_id.get(instance_id)

    def by_ip(self, address: str) -> Record | None:
        return next((r for r in self.by_id.values() if r.private_ip == address), None)


class TokenSigner:
    """IMDSv2 session tokens: ``base64(expiry:address).hmac``, checked without state."""

    def __init__(self, clock: Callable[[], float] = time.time, key: bytes | None = None):
        self.clock = clock
        self.key = key or secrets.token_bytes(32)

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self.key, payload, hashlib.sha256).hexdigest()[:40]

    def issue(self, address: str, ttl: int) -> str:
        payload = f"{int(self.clock()) + ttl}:{address}".encode()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._mac(payload)

    def remaining(self, token: str, address: str) -> int | None:
        """Seconds the token has left for ``address``; None when invalid or expired."""
        encoded, _, mac = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            expiry_text, _, bound = payload.decode().partition(":")
            expiry = int(expiry_text)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)) or bound != address:
            return None
        left = expiry - int(self.clock())
        return left if left > 0 else None


def _plain(status: int, text: str = "") -> web.Response:
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
               405: "Method Not Allowed"}
    return web.Response(status=status, text=text or reasons.get(status, ""),
                        content_type="text/plain")


def make_app(store: MetadataStore, signer: TokenSigner | None = None,
             public_of: Callable[[str], str] | None = None) -> web.Application:
    """The metadata service over ``store`` (see the module docstring for its rules).
    ``public_of(instance_id)`` gives the instance's public address now ("" for none); when
    given it overrides the registered ``public-ipv4``/``public-hostname``, so an elastic IP
    associated, moved or released after launch shows at once."""
    signer = signer or TokenSigner()

    def current(record: Record) -> Record:
        if public_of is None:
            return record
        public = public_of(record.instance_id)
        if public == record.document.get("public-ipv4", ""):
            return record
        hostname = "euca-" + public.replace(".", "-") if public else ""
        return Record(record.instance_id, record.private_ip,
                      {**record.document, "public-ipv4": public, "public-hostname": hostname})

    async def token(request: web.Request, record: Record) -> web.Response:
        if request.method != "PUT":
            return _plain(405)
        if "X-Forwarded-For" in request.headers:
            return _plain(403)
        raw = request.headers.get(TTL_HEADER, "")
        if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_TTL_S:
            return _plain(400, f"{TTL_HEADER} must be an integer from 1 to {MAX_TTL_S}")
        ttl = int(raw)
        return web.Response(text=signer.issue(record.private_ip, ttl), content_type="text/plain",
                            headers={TTL_HEADER: str(ttl)})

    async def handle(request: web.Request) -> web.Response:
        record = store.by_ip(request.remote or "")
        if record is None:
            return _plain(404)
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] and parts[0] in VERSIONS and parts[1:] == ["api", "token"]:
            return await token(request, record)
        if request.method not in ("GET", "HEAD"):
            return _plain(405)
        headers: dict[str, str] = {}
        presented = request.headers.get(TOKEN_HEADER)
        if presented is not None:
            left = signer.remaining(presented, record.private_ip)
            if left is None:
                return _plain(401)
            headers[TTL_HEADER] = str(left)
        elif record.tokens_required:
            return _plain(401)
        if not parts:
            return web.Response(text="\n".join(VERSIONS), content_type="text/plain",
                                headers=headers)
        if parts[0] not in VERSIONS:
            return _plain(404)
        answer = render(build_tree(current(record)), parts[1:])
        if answer is None:
            return _plain(404)
        if isinstance(answer, bytes):
            return web.Response(body=answer, content_type="application/octet-stream",
                                headers=headers)
        return web.Response(text=answer, content_type="text/plain", headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
