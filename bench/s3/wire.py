"""A lean HTTP/1.1 client for the small-object load: prepared requests, answers parsed just
enough.

The load generator shares this machine's two cores with the server it measures, so every
microsecond it spends per request is taken from a multi-core server (moto's server is bound to
one core by its interpreter lock and does not feel it). ``Connections(address, limit)`` keeps
up to ``limit`` keep-alive connections (asyncio streams) to one server; ``exchange(request)``
writes a request already serialised to bytes (``request_bytes(call)``: head and body) on an
idle connection, or a new one, and reads the answer: status, lower-cased headers and the body,
framed by Content-Length, by chunked coding, or by the end of the connection. A connection the
server closes (``Connection: close``, HTTP/1.0, or an answer ending with the connection) is
dropped and the next request opens another, so such a server's figures include a connect per
request, as with any client. Every exchange is bounded by ``timeout`` seconds.
"""
from __future__ import annotations

import asyncio

from bench.s3.signing import S3Call
from bench.s3.transfer import ProtocolError, request_head

TIMEOUT_S = 30.0


def request_bytes(call: S3Call) -> bytes:
    """The whole request of ``call`` (its body after the head), as sent on a kept-alive
    connection."""
    return request_head(call) + call.body


class Answer:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body


def _parse_head(head: bytes) -> tuple[int, bool, dict[str, str]]:
    """(status, whether the server keeps the connection, lower-cased headers)."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/") or not rest[:3].isdigit():
        raise ProtocolError(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    return int(rest[:3]), keep, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":     # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


class Connections:
    def __init__(self, address: tuple[str, int], limit: int, timeout: float = TIMEOUT_S):
        self.address = address
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(limit)

    async def __aenter__(self) -> "Connections":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()

    async def exchange(self, request: bytes, method: str = "") -> Answer:
        async with self._slots:
            if self._idle:
                reader, writer = self._idle.pop()
            else:
                reader, writer = await asyncio.open_connection(*self.address, limit=1 << 20)
            try:
                async with asyncio.timeout(self.timeout):
                    answer, keep = await self._send(reader, writer, request, method)
            except BaseException as exc:
                writer.close()
                if isinstance(exc, asyncio.IncompleteReadError):
                    raise ProtocolError(f"connection closed inside the answer ({exc})") \
                        from None
                raise
            if keep:
                self._idle.append((reader, writer))
            else:
                writer.close()
            return answer

    @staticmethod
    async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes, method: str) -> tuple[Answer, bool]:
        writer.write(request)
        status, keep, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:                                           # framed by the connection's end
            body, keep = await reader.read(), False
        return Answer(status, headers, body), keep
