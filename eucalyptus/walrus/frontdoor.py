"""The S3 request pipeline: address -> route -> authenticate -> parse -> dispatch -> send.

Unlike the CLC's gateway this one streams: uploads (PutObject, UploadPart) reach their
handler with the body unread, as a ``PayloadReader`` that verifies the payload signature
(plain SHA-256, signed chunks, trailers) while the handler consumes it; a plain body framed by
Content-Length on a plain connection comes as a ``streams.SocketBody``, which a large upload
takes straight off the socket (the connection then closes after the answer); downloads leave
as a ``FileSlice`` sent with sendfile. Other requests' bodies are small XML documents, read whole
(with Content-MD5 / x-amz-checksum-* checked) and parsed from the model.

With SQLite, reads and object PUTs with a pre-read body run on the event loop itself
(``_inline``); other requests run on request threads (``walrus.offload``).

Anonymous requests (no signature at all) reach the handler with ``ctx.principal`` None; the
handler's ``access.authorize`` decides. Signed requests are authenticated against the cloud's
identity tables on every request (a deleted or deactivated key stops working at once).
The request's database session is committed after the handler returns; blobs it orphaned are
removed after that commit.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
import time
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from eucalyptus import errors, ids
from eucalyptus.aws import specs
from eucalyptus.aws.auth import SignedRequest, authenticate, sigv4
from eucalyptus.aws.auth.payload import UNSIGNED as UNSIGNED_PAYLOAD
from eucalyptus.aws.auth.payload import ChunkSigner, PayloadReader, sha256_mismatch
from eucalyptus.aws.dispatch import DispatchTable, RequestContext
from eucalyptus.aws.http import HttpRequest, HttpResponse, parse_query
from eucalyptus.aws.protocol import restroutes, restxml
from eucalyptus.aws.protocol.errors import request_id_headers
from eucalyptus.services.s3 import cors, post_upload, records
from eucalyptus.walrus.addressing import locate
from eucalyptus.walrus.offload import ThreadLoops
from eucalyptus.walrus.streams import BodySource, SocketBody, can_detach, detached

log = logging.getLogger("eucalyptus.walrus.s3")

STREAMING_OPERATIONS = frozenset({"PutObject", "UploadPart"})
MAX_DOCUMENT = 20 << 20          # bodies read whole (XML documents) are at most this big
PREREAD_LIMIT = 1 << 20          # bodies up to this size are read before the request runs
SMALL_BODY = 64 << 10            # answers up to this size are read, not sent with sendfile
SIGNATURE_QUERY = ("X-Amz-Signature", "X-Amz-Credential", "Signature", "AWSAccessKeyId")


def is_signed(request: web.Request) -> bool:
    """Whether the request carries any kind of signature (else it is anonymous)."""
    if "Authorization" in request.headers:
        return True
    return any(name in request.query for name in SIGNATURE_QUERY)


def _verify_document_digests(headers, body: bytes) -> None:
    md5 = headers.get("Content-MD5")
    if md5 is not None:
        try:
            wanted = base64.b64decode(md5, validate=True)
        except (binascii.Error, ValueError):
            wanted = b""
        if len(wanted) != 16:
            raise errors.ServiceError("InvalidDigest", "The Content-MD5 you specified is not "
                                      "valid.", status=400)
        if wanted != hashlib.md5(body).digest():
            raise errors.ServiceError("BadDigest", "The Content-MD5 you specified did not "
                                      "match what we received.", status=400)
    from eucalyptus.services.s3 import checksums
    for algorithm, header in checksums.HEADERS.items():
        value = headers.get(header)
        if value is not None and value != checksums.of_bytes(algorithm, body):
            raise errors.ServiceError("BadDigest", f"The {algorithm} you specified did not "
                                      "match the calculated checksum.", status=400)
    declared = headers.get("x-amz-content-sha256")
    if declared and len(declared) == 64 and declared.lower() != hashlib.sha256(body).hexdigest():
        raise sha256_mismatch()


def _is_plain(headers) -> bool:
    """Whether an upload's body is its bytes as sent (no ``aws-chunked`` framing), whatever
    its SigV4 payload header says about checking them."""
    return not headers.get("x-amz-content-sha256", "").startswith("STREAMING-") and \
        "aws-chunked" not in headers.get("Content-Encoding", "").lower()


def _needs_no_decoding(headers) -> bool:
    """Whether an upload's body is plain with nothing to verify on the way
    (``UNSIGNED-PAYLOAD``, or no SigV4 payload header): a pre-read one then reaches the
    handler as ``bytes``."""
    return headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD) == UNSIGNED_PAYLOAD and \
        _is_plain(headers)


def _fed_stream(body: bytes) -> asyncio.StreamReader:
    """A stream on the running loop that yields ``body`` and ends."""
    reader = asyncio.StreamReader()
    reader.feed_data(body)
    reader.feed_eof()
    return reader


class S3FrontDoor:
    def __init__(self, component: Any, handler_modules: list, domains: tuple[str, ...],
                 threads: ThreadLoops | None = None):
        self.component = component
        self.threads = threads or ThreadLoops()
        self.model = specs.service_model("s3")
        self.table = DispatchTable("s3", handler_modules)
        self.domains = domains
        self.sqlite = component.db.engine.dialect.name == "sqlite"

    # -- the pipeline -----------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = ids.request_id()
        body = await self._preread(request)
        if body is None or self._inline(request):
            # a large or form upload (served here, streaming), or a request that never waits
            # on the database: answered on this loop, without a thread switch
            operation, response = await self._respond(request, request_id, body)
        else:                     # everything else: on a request thread (see offload)
            operation, response = await self.threads.run(
                lambda: self._respond(request, request_id, body))
        try:
            return await self.send(request, response)
        finally:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("s3 %s %s %d %.1fms", operation, request_id, response.status,
                          (time.perf_counter() - started) * 1000)

    def _inline(self, request: web.Request) -> bool:
        """Whether a request whose body is read is served on the event loop itself.

        With SQLite only (PostgreSQL answers over the network, so its requests wait on a
        request thread): reads (GET, HEAD), which never wait for a lock in WAL mode, and a
        PUT of an object's bytes, whose fsyncs run in the executor and whose few writes hold
        the database write lock for well under a millisecond. Other writes keep their own
        thread, so a long transaction never stalls this loop."""
        if not self.sqlite:
            return False
        method = request.method
        if method in ("GET", "HEAD"):
            return True
        if method != "PUT" or request.query_string or "x-amz-copy-source" in request.headers:
            return False
        path = locate(request.host, request.raw_path, self.domains).path
        return "/" in path.strip("/")          # /bucket/key: PutObject, not a bucket PUT

    async def _preread(self, request: web.Request) -> bytes | None:
        """The whole body of a request that can be served off this loop, else None.

        Bodies with a Content-Length of at most ``PREREAD_LIMIT`` (and none at all) are read
        here; chunked transfers, bigger bodies and browser form uploads are not."""
        if not request.can_read_body:
            return b""
        length = request.content_length
        if length is None or length > PREREAD_LIMIT:
            return None
        if request.method == "POST" and request.content_type == "multipart/form-data":
            return None
        return await request.read()

    async def _respond(self, request: web.Request, request_id: str,
                       body: bytes | None) -> tuple[str, HttpResponse]:
        """Run one request in its own database session: (operation, response).

        The session commits after the handler returns, then the after-commit actions run;
        any error rolls it back and becomes the AWS error document."""
        operation = "-"
        session = self.component.sessions()
        try:
            operation, response, ctx = await self._serve(request, session, request_id, body)
            if session.in_transaction():      # (a handler may have committed already)
                session.commit()
            for action in ctx.extra.get("after_commit", ()):
                try:
                    action()
                except OSError as exc:
                    log.warning("after-commit cleanup failed: %s", exc)
        except errors.ServiceError as exc:
            session.rollback()
            response = restxml.serialize_error(exc, request_id, self.model,
                                               method=request.method)
        except Exception:
            session.rollback()
            log.exception("internal error in s3 %s (request %s)", operation, request_id)
            response = restxml.serialize_error(
                errors.InternalError("We encountered an internal error. Please try again."),
                request_id, self.model, method=request.method)
        finally:
            session.close()
        stream = response.stream
        if stream is not None and stream.length <= SMALL_BODY:   # cheaper than sendfile
            try:
                response.body = os.pread(stream.file.fileno(), stream.length, stream.offset)
            finally:
                stream.close()
            response.stream = None
            if len(response.body) != stream.length:
                raise ConnectionResetError("blob shorter than its row says")
        return operation, response

    async def _serve(self, request: web.Request, session, request_id: str,
                     preread: bytes | None):
        raw_path, _, raw_query = request.raw_path.partition("?")
        located = locate(request.host, raw_path, self.domains)
        headers = request.headers
        if request.method == "OPTIONS":      # a CORS preflight: unsigned, decided by the rules
            answer = cors.preflight_for(session, located.path, headers)
            ctx = RequestContext(request_id=request_id, service="s3",
                                 operation="PreflightRequest",
                                 region=self.component.settings.region, db=session)
            return "PreflightRequest", HttpResponse(
                200, {**request_id_headers(request_id, s3_style=True), **answer}), ctx
        form_bucket = post_upload.form_bucket(request.method, located.path, headers)
        if form_bucket is not None:      # a browser form upload, signed by its policy
            ctx = RequestContext(request_id=request_id, service="s3", operation="PostObject",
                                 region=self.component.settings.region, principal=None,
                                 db=session, settings=self.component.settings,
                                 component=self.component, host=request.host,
                                 scheme=request.scheme,
                                 extra={"headers": headers, "source_ip": request.remote})
            response = await post_upload.post_object(
                ctx, form_bucket, await request.multipart(),
                lambda key: records.credential(session, key),
                f"{request.scheme}://{request.host}{raw_path.rstrip('/')}")
            return "PostObject", response, ctx
        http = HttpRequest(request.method, located.path, parse_query(raw_query),
                           CIMultiDict(headers), b"")
        matched = restroutes.match(http, self.model)
        op_model = matched[0]
        streaming = op_model.name in STREAMING_OPERATIONS
        body = b""
        if not streaming and (preread or request.can_read_body):
            if preread is not None:
                body = preread
            elif request.content_length and request.content_length > MAX_DOCUMENT:
                raise errors.ServiceError("MaxMessageLengthExceeded", "Your request was too "
                                          "big.", status=400)
            else:
                body = await request.read()
            if "aws-chunked" in headers.get("Content-Encoding", "") or headers.get(
                    "x-amz-content-sha256", "").startswith("STREAMING-"):
                body = await self._dechunk(body, headers)
        signed = SignedRequest(request.method, raw_path, raw_query, http.headers, body)
        principal, signer = None, None
        if is_signed(request):
            cred = authenticate(signed, "s3", lambda key: records.credential(session, key))
            principal = cred.principal
            signer = self._chunk_signer(signed, cred.secret)
        if not streaming:
            _verify_document_digests(headers, body)
        http.body = body
        op_model, params = restxml.parse(http, self.model, matched)
        ctx = RequestContext(request_id=request_id, service="s3", operation=op_model.name,
                             region=self.component.settings.region, principal=principal,
                             db=session, settings=self.component.settings,
                             component=self.component, host=request.host,
                             scheme=request.scheme,
                             extra={"headers": headers, "query": http.query,
                                    "source_ip": request.remote})
        if streaming:
            if preread is not None and _needs_no_decoding(headers):
                params["Body"] = preread
            elif preread is None and _is_plain(headers) and can_detach(request):
                params["Body"] = SocketBody(request, headers)
            else:
                params["Body"] = PayloadReader(BodySource(request.content) if preread is None
                                               else _fed_stream(preread), headers, signer)
        result = await self.table.call(ctx, params)
        response = restxml.serialize(op_model, result, request_id)
        if "status" in ctx.extra:
            response.status = ctx.extra["status"]
        response.headers.update(cors.headers_for(session, located.path, headers.get("Origin"),
                                                 request.method))
        return op_model.name, response, ctx

    async def _dechunk(self, body: bytes, headers) -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(body)
        reader.feed_eof()
        payload = PayloadReader(reader, headers, None) if not headers.get(
            "x-amz-content-sha256", "").startswith("STREAMING-AWS4") else None
        if payload is None:   # signed chunks in a small document: verified after auth
            return body
        return b"".join([chunk async for chunk in payload.chunks()])

    @staticmethod
    def _chunk_signer(signed: SignedRequest, secret: str) -> ChunkSigner | None:
        mode = signed.headers.get("x-amz-content-sha256", "")
        if not mode.startswith("STREAMING-AWS4-HMAC-SHA256"):
            return None
        sig = sigv4.parse(signed)
        if sig is None:
            return None
        key = sigv4.signing_key(secret, sig.date, sig.region, sig.service)
        return ChunkSigner(key, sig.timestamp.strftime("%Y%m%dT%H%M%SZ"),
                           f"{sig.date}/{sig.region}/{sig.service}/aws4_request", sig.signature)

    # -- sending ----------------------------------------------------------------------------
    @staticmethod
    def _answer(request: web.Request, kind: type, response: HttpResponse, **extra):
        """An aiohttp response of ``kind``; one that closes its connection after a body
        taken off it (see ``streams.SocketBody``)."""
        out = kind(status=response.status, headers=response.headers, **extra)
        if detached(request):
            out.force_close()
        return out

    async def send(self, request: web.Request, response: HttpResponse) -> web.StreamResponse:
        stream = response.stream
        headers = response.headers
        if stream is None:
            if request.method == "HEAD" or response.status == 304:
                out = self._answer(request, web.StreamResponse, response)
                if "Content-Length" in headers and response.status != 304:
                    out.content_length = int(headers["Content-Length"])
                await out.prepare(request)
                await out.write_eof()
                return out
            return self._answer(request, web.Response, response, body=response.body)
        try:
            out = self._answer(request, web.StreamResponse, response)
            out.content_length = stream.length
            await out.prepare(request)
            if stream.length:
                transport = request.transport
                if transport is None:
                    raise ConnectionResetError("connection lost")
                loop = asyncio.get_running_loop()
                await loop.sendfile(transport, stream.file, stream.offset, stream.length)
            await out.write_eof()
            return out
        finally:
            stream.close()
