"""LIST: fill a bucket with many keys, then time complete ListObjectsV2 listings of it.

``fill(server, bucket, count, ...)`` writes ``count`` empty objects under ``list/`` at
concurrency 16 through the load loop (its RunResult says how fast). ``list_all(session, ...)``
pages through the bucket with ``max-keys`` per page, following ``NextContinuationToken``; each
page is signed just before it is sent (the token is only known then) and read with two regular
expressions rather than a full XML parser, so the client's parsing stays small next to the
server's work. ``time_listings`` repeats that and returns a ``Figure`` in seconds (median),
counting a listing only if it saw exactly the expected number of keys.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from urllib.parse import quote

import aiohttp

from bench.driver import RunResult, describe_failure
from bench.peers import Server
from bench.procstat import self_cpu_seconds, tree_cpu_seconds
from bench.s3.figures import Figure, from_repeats
from bench.s3.signing import sign
from bench.s3.small import put_calls, run_calls

_KEY = re.compile(rb"<Key>")
_TOKEN = re.compile(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>")
_TRUNCATED = re.compile(rb"<IsTruncated>\s*true\s*</IsTruncated>")


class ListingFailed(Exception):
    pass


async def fill(server: Server, bucket: str, count: int, seconds: float = 60.0,
               concurrency: int = 16) -> RunResult:
    calls = put_calls(server, bucket, "list/k", count, b"")
    result, _ = await run_calls(calls, server, "PUT 0 B (fill)", concurrency, seconds, 0)
    return result


def xml_unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


async def list_all(session: aiohttp.ClientSession, server: Server, bucket: str,
                   page_size: int = 1000) -> tuple[int, int]:
    """(keys seen, pages) of one complete listing; ListingFailed on any non-200 answer."""
    keys = pages = 0
    token = None
    while True:
        query = f"list-type=2&max-keys={page_size}"
        if token is not None:
            query += "&continuation-token=" + quote(token, safe="")
        call = sign(server, "ListObjectsV2", "GET", bucket, query=query)
        async with session.get(call.url, headers=call.headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise ListingFailed(describe_failure(call, resp.status, body))
        pages += 1
        keys += len(_KEY.findall(body))
        match = _TOKEN.search(body)
        if not _TRUNCATED.search(body):
            return keys, pages
        if match is None:
            raise ListingFailed("ListObjectsV2: truncated page without a continuation token")
        token = xml_unescape(match.group(1).decode())


async def time_listings(server: Server, bucket: str, expect: int, repeats: int = 3,
                        page_size: int = 1000, budget_s: float = 20.0) -> Figure:
    """Median seconds of ``repeats`` complete listings (fewer once ``budget_s`` is spent)."""
    values: list[float] = []
    failures: Counter = Counter()
    wall = cpu = client = 0.0
    label = f"LIST {expect:,} keys"
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        try:
            await list_all(session, server, bucket, page_size)      # warm-up, untimed
        except (ListingFailed, aiohttp.ClientError, OSError) as exc:
            return from_repeats(server.name, label, "s", [], 0.0, 0.0, 0.0, 1,
                                {str(exc)[:200]: 1})
        for _ in range(repeats):
            cpu0, client0 = tree_cpu_seconds(server.pid), self_cpu_seconds()
            began = time.perf_counter()
            try:
                keys, _pages = await list_all(session, server, bucket, page_size)
                problem = None if keys == expect else f"listed {keys} keys, not {expect}"
            except (ListingFailed, aiohttp.ClientError, OSError) as exc:
                problem = str(exc)[:200]
            elapsed = time.perf_counter() - began
            wall += elapsed
            cpu += tree_cpu_seconds(server.pid) - cpu0
            client += self_cpu_seconds() - client0
            if problem:
                failures[problem] += 1
            else:
                values.append(elapsed)
            if wall >= budget_s:
                break
    return from_repeats(server.name, label, "s", values, wall, cpu, client,
                        sum(failures.values()), dict(failures.most_common(5)))
