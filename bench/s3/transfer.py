"""Large-object transfers over a plain blocking socket: the body never passes through Python.

``put_file(call, file, size)`` sends the signed request head, then the first ``size`` bytes of
the open ``file`` with ``socket.sendfile`` (kernel to socket, no copy in this process), and reads
the answer. ``get_to_sink(call)`` sends a GET and reads the body with ``recv_into`` a reused
4 MiB buffer, counting and discarding it. Both open one connection (``Connection: close``) and
return an ``Exchange``: status, lower-cased headers, body bytes received, the first 64 KiB of
the body (for error documents and small answers), and wall seconds from connect to last byte.

Responses are framed by Content-Length, by chunked transfer coding, or by the end of the
connection, as HTTP/1.1 allows.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import urlsplit

from bench.s3.signing import S3Call

SINK_SIZE = 4 << 20
KEEP = 64 << 10
TIMEOUT_S = 120.0


class ProtocolError(OSError):
    """The server's answer was not well-formed HTTP/1.1."""


@dataclass
class Exchange:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    received: int = 0
    head: bytes = field(default=b"", repr=False)   # first KEEP bytes of the body
    seconds: float = 0.0


def request_head(call: S3Call, extra: dict[str, str] | None = None) -> bytes:
    """The request line and headers of ``call`` (Host from its URL) as bytes."""
    lines = [f"{call.method} {call.target} HTTP/1.1", f"Host: {urlsplit(call.url).netloc}"]
    headers = {**call.headers, **(extra or {})}
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Reader:
    """Reads an HTTP/1.1 response from a socket into one reused buffer."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray(SINK_SIZE)
        self.view = memoryview(self.buffer)
        self.start = self.end = 0          # unread bytes are buffer[start:end]

    def fill(self) -> int:
        if self.start == self.end:
            self.start = self.end = 0
        elif self.end == len(self.buffer):  # move the unread tail to the front
            self.buffer[:self.end - self.start] = self.buffer[self.start:self.end]
            self.end -= self.start
            self.start = 0
        n = self.sock.recv_into(self.view[self.end:])
        self.end += n
        return n

    def line(self, limit: int = 65536) -> bytes:
        while True:
            at = self.buffer.find(b"\n", self.start, self.end)
            if at >= 0:
                text = bytes(self.buffer[self.start:at + 1])
                self.start = at + 1
                return text
            if self.end - self.start > limit:
                raise ProtocolError("header line too long")
            if not self.fill():
                raise ProtocolError("connection closed inside the response head")

    def take(self, count: int | None, into: Exchange) -> None:
        """Consume ``count`` body bytes (None: until the connection ends) into the sink."""
        left = count
        while left is None or left > 0:
            if self.start == self.end and not self.fill():
                if left is None:
                    return
                raise ProtocolError(f"connection closed with {left} body bytes missing")
            n = self.end - self.start if left is None else min(left, self.end - self.start)
            room = KEEP - len(into.head)
            if room > 0:
                into.head += bytes(self.buffer[self.start:self.start + min(n, room)])
            self.start += n
            into.received += n
            if left is not None:
                left -= n


def read_response(reader: _Reader, into: Exchange, method: str) -> None:
    status_line = reader.line().decode("latin-1").split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        raise ProtocolError(f"bad status line {status_line!r}")
    into.status = int(status_line[1])
    while True:
        raw = reader.line().decode("latin-1").rstrip("\r\n")
        if not raw:
            break
        name, _, value = raw.partition(":")
        into.headers[name.strip().lower()] = value.strip()
    if into.status == 100:                       # an interim answer: the real one follows
        into.headers.clear()
        return read_response(reader, into, method)
    if method == "HEAD" or into.status in (204, 304):
        return
    if "chunked" in into.headers.get("transfer-encoding", "").lower():
        while True:
            size = int(reader.line().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.line().strip():     # trailers, then the blank line
                    pass
                return
            reader.take(size, into)
            reader.line()                        # the CRLF after each chunk
    length = into.headers.get("content-length")
    reader.take(int(length) if length is not None else None, into)


def _exchange(call: S3Call, send_body) -> Exchange:
    result = Exchange()
    began = time.perf_counter()
    with socket.create_connection(call.address, timeout=TIMEOUT_S) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.sendall(request_head(call, {"Connection": "close"}))
            send_body(sock)
        except (BrokenPipeError, ConnectionResetError):
            pass          # the server answered early (an error); read what it said
        read_response(_Reader(sock), result, call.method)
    result.seconds = time.perf_counter() - began
    return result


def put_file(call: S3Call, file: BinaryIO, size: int) -> Exchange:
    """PUT the first ``size`` bytes of the open ``file`` as the body of ``call``."""
    def send_body(sock: socket.socket) -> None:
        sent = sock.sendfile(file, 0, size)
        if sent != size:
            raise ProtocolError(f"file ended after {sent} of {size} bytes")
    return _exchange(call, send_body)


def get_to_sink(call: S3Call) -> Exchange:
    """Send ``call`` (a GET) and count its body into the sink."""
    return _exchange(call, lambda sock: None)
