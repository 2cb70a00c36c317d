"""The upload bodies Walrus hands to its handlers: aiohttp's buffers uncopied, or the socket.

``BodySource(stream)`` is a ``payload.Source`` whose ``some()`` returns the next buffer the
socket delivered exactly as received (aiohttp's ``readchunk``), where ``readany`` would join
everything buffered into one new bytes object. A large upload thus crosses the loop with one
copy (the kernel's, into the received bytes) and reaches the hashing and writing threads as
the very objects the transport read. ``some()`` returns ``b""`` only at the end of the body.

``SocketBody(request, headers)`` is a plain body (framed by Content-Length, nothing to decode)
read like any ``PayloadReader``, which can instead be taken off the connection: ``detach()``
stops the transport reading and returns what aiohttp had already buffered, and the socket's
descriptor then holds the rest, for a blob store to splice into a file without the bytes
passing through this process (``ingest``). aiohttp never sees the rest of such a body, so the
connection closes after the answer (``detached(request)`` tells the sender). ``wait()`` blocks a
thread until the socket is readable: a client silent for ``IDLE_TIMEOUT`` seconds fails the
upload (RequestTimeout), and ``abandon()`` makes waiting threads give up at once.
"""
from __future__ import annotations

import asyncio
import select
import socket
import threading

from aiohttp import web

from eucalyptus.aws.auth.payload import PayloadReader, Source
from eucalyptus.errors import ServiceError

IDLE_TIMEOUT = 60.0           # seconds a detached upload may wait for its client's next byte
WAIT_SLICE = 0.5              # seconds between checks for abandon() while waiting
DETACHED = "walrus.detached"  # request key: the body was taken off the connection


class BodySource(Source):
    async def some(self) -> bytes:
        readchunk = getattr(self.stream, "readchunk", None)
        if readchunk is None:
            return await super().some()
        while True:
            data, end_of_http_chunk = await readchunk()
            if data or not end_of_http_chunk:    # (b"", True) only marks a chunk boundary
                return data


def can_detach(request: web.Request) -> bool:
    """Whether the request's body could be read from its socket directly: a plain TCP or
    Unix-domain connection (not TLS) and a body framed by Content-Length."""
    transport = request.transport
    if transport is None or transport.is_closing() or request.content_length is None:
        return False
    if transport.get_extra_info("sslcontext") is not None:
        return False
    sock = transport.get_extra_info("socket")
    return sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6,
                                                socket.AF_UNIX)


def detached(request: web.Request) -> bool:
    """Whether the request's body was taken off its connection (which must then close)."""
    return bool(request.get(DETACHED))


def request_timeout() -> ServiceError:
    return ServiceError("RequestTimeout", "Your socket connection to the server was not read "
                        "from or written to within the timeout period. Idle connections will "
                        "be closed.", status=400)


class Abandoned(Exception):
    """The upload was given up while a thread waited for its socket."""


class SocketBody(PayloadReader):
    def __init__(self, request: web.Request, headers):
        super().__init__(BodySource(request.content), headers)
        self.request = request
        self.fd = -1
        self._abandoned = threading.Event()

    async def detach(self) -> list[bytes]:
        """Stop aiohttp reading this body; the bytes it had buffered, in order. The rest is
        then read from ``self.fd`` (``self.length`` bytes in all)."""
        request, content = self.request, self.request.content
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client went away")
        request[DETACHED] = True
        buffered: list[bytes] = []
        paused = False
        while True:
            data = content.read_nowait()
            if not data and paused:
                break
            if data:
                buffered.append(data)
            # Draining resumes reading (aiohttp's flow control), and a read already
            # scheduled in this turn of the loop still delivers into the buffer: pause, let
            # the loop turn, and take whatever came, until nothing does.
            transport.pause_reading()
            paused = True
            await asyncio.sleep(0)
        content.feed_eof()             # no lingering for the rest; this resumes reading,
        transport.pause_reading()      # so pause again before the loop can read anything
        if transport.is_closing():
            raise ConnectionResetError("the client went away")
        self.fd = transport.get_extra_info("socket").fileno()
        return buffered

    def wait(self) -> None:
        """Block until the socket has something to read (or was closed)."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLRDHUP)
        waited = 0.0
        while not poller.poll(WAIT_SLICE * 1000):
            if self._abandoned.is_set():
                raise Abandoned()
            waited += WAIT_SLICE
            if waited >= IDLE_TIMEOUT:
                raise request_timeout()

    def abandon(self) -> None:
        self._abandoned.set()
