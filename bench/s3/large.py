"""Large-object runs: PUT a file-backed object and GET it back into a sink, repeated.

``make_source(size, directory)`` writes a file of ``size`` incompressible bytes once (before
any clock) and returns it open with its MD5, so every PUT streams the same bytes from the page
cache with ``sendfile``. ``put_large`` and ``get_large`` run ``repeats`` transfers (stopping
early once ``budget_s`` of wall time is spent, after at least one), reading the server's
process-tree CPU around each, and return a ``Figure`` in MB/s (median of the repeats). A PUT
counts only if it answered 200 with the expected ETag; a GET only if it answered 200 with
exactly ``size`` body bytes and the same ETag.
"""
from __future__ import annotations

import hashlib
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Callable

from bench.peers import Server
from bench.procstat import self_cpu_seconds, tree_cpu_seconds
from bench.s3.ceilings import MB, pattern_block
from bench.s3.figures import Figure, from_repeats
from bench.s3.signing import sign
from bench.s3.transfer import Exchange, get_to_sink, put_file

LARGE_SIZE = 256 << 20


@dataclass
class Source:
    file: BinaryIO
    size: int
    md5: str

    def close(self) -> None:
        self.file.close()


def make_source(size: int = LARGE_SIZE, directory: str | None = None) -> Source:
    """An unlinked temporary file of ``size`` bytes, open for reading, and its MD5."""
    block = pattern_block()
    digest = hashlib.md5()
    handle = tempfile.TemporaryFile(prefix="bench-large-", dir=directory)
    left, counter = size, 0
    while left > 0:
        # Vary each block so no two MiB of the object are equal.
        piece = counter.to_bytes(8, "big") + bytes(block[8:min(left, len(block))])
        piece = piece[:min(left, len(block))]
        handle.write(piece)
        digest.update(piece)
        left -= len(piece)
        counter += 1
    handle.flush()
    handle.seek(0)
    return Source(handle, size, digest.hexdigest())


def _etag(exchange: Exchange) -> str:
    return exchange.headers.get("etag", "").strip('"')


def _failure(action: str, exchange: Exchange) -> str:
    detail = exchange.head[:160].decode(errors="replace").replace("\n", " ")
    return f"{action}: HTTP {exchange.status} {detail}"


def _repeat(server: Server, label: str, repeats: int, budget_s: float,
            once: Callable[[], tuple[float, str | None]]) -> Figure:
    values: list[float] = []
    failures: Counter = Counter()
    wall = cpu = client = 0.0
    for _ in range(repeats):
        cpu0, client0 = tree_cpu_seconds(server.pid), self_cpu_seconds()
        began = time.perf_counter()
        try:
            mb_s, problem = once()
        except OSError as exc:
            mb_s, problem = 0.0, f"{label}: {type(exc).__name__} {exc}"[:200]
        wall += time.perf_counter() - began
        cpu += tree_cpu_seconds(server.pid) - cpu0
        client += self_cpu_seconds() - client0
        if problem:
            failures[problem] += 1
        else:
            values.append(mb_s)
        if wall >= budget_s:
            break
    return from_repeats(server.name, label, "MB/s", values, wall, cpu, client,
                        sum(failures.values()), dict(failures.most_common(5)))


def put_large(server: Server, bucket: str, key: str, source: Source, repeats: int = 3,
              budget_s: float = 20.0) -> Figure:
    def once() -> tuple[float, str | None]:
        call = sign(server, "PutObject", "PUT", bucket, key, content_length=source.size)
        exchange = put_file(call, source.file, source.size)
        if exchange.status != 200:
            return 0.0, _failure("PutObject", exchange)
        if _etag(exchange) != source.md5:
            return 0.0, f"PutObject: ETag {_etag(exchange)!r}, not the MD5 {source.md5}"
        return source.size / MB / exchange.seconds, None
    return _repeat(server, f"PUT {source.size >> 20} MiB", repeats, budget_s, once)


def get_large(server: Server, bucket: str, key: str, source: Source, repeats: int = 3,
              budget_s: float = 20.0) -> Figure:
    def once() -> tuple[float, str | None]:
        exchange = get_to_sink(sign(server, "GetObject", "GET", bucket, key))
        if exchange.status != 200:
            return 0.0, _failure("GetObject", exchange)
        if exchange.received != source.size:
            return 0.0, f"GetObject: {exchange.received} bytes, not {source.size}"
        if _etag(exchange) != source.md5:
            return 0.0, f"GetObject: ETag {_etag(exchange)!r}, not the MD5 {source.md5}"
        return source.size / MB / exchange.seconds, None
    return _repeat(server, f"GET {source.size >> 20} MiB", repeats, budget_s, once)
