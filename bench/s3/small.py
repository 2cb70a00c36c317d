"""Small-object load: PUT and GET of 4 KiB objects through the shared load loop.

``put_calls`` and ``get_calls`` sign every request in advance (``bench.s3.signing``);
``run_calls`` drives them with ``bench.driver.measure_units`` over the lean keep-alive client
of ``bench.s3.wire``, using a sender that counts a request as done only if it answered 200
and, for a GET, brought back exactly the expected number of bytes. ``run_calls`` also returns the keys of the timed requests that were sent, so
the GETs can read back what the PUTs wrote (cycling when there are fewer keys than requests).
"""
from __future__ import annotations

import asyncio
import secrets
from collections import Counter

from bench.driver import RunResult, describe_failure, measure_units
from bench.peers import Server
from bench.s3.signing import UNSIGNED, S3Call, sha256_hex, sign
from bench.s3.wire import Connections, request_bytes

SMALL_SIZE = 4096


def small_body(size: int = SMALL_SIZE) -> bytes:
    return secrets.token_bytes(size)


def put_calls(server: Server, bucket: str, prefix: str, count: int, body: bytes,
              sign_payload: bool = False) -> list[tuple[str, S3Call]]:
    """``count`` signed PutObject requests of ``body`` to fresh keys, with their keys."""
    run = secrets.token_hex(3)
    payload = sha256_hex(body) if sign_payload else UNSIGNED
    calls = []
    for i in range(count):
        key = f"{prefix}-{run}-{i:06d}"
        calls.append((key, sign(server, "PutObject", "PUT", bucket, key, body=body,
                                payload=payload)))
    return calls


def get_calls(server: Server, bucket: str, keys: list[str],
              count: int) -> list[tuple[str, S3Call]]:
    """``count`` signed GetObject requests of ``keys``, in order, cycling."""
    return [(keys[i % len(keys)], sign(server, "GetObject", "GET", bucket, keys[i % len(keys)]))
            for i in range(count)]


def checking_sender(expect_body: int | None):
    """A sender for ``measure_units``: 200 and (if given) a body of ``expect_body`` bytes."""
    async def send(session: Connections, call: S3Call, failures: Counter) -> bool:
        try:
            answer = await session.exchange(request_bytes(call), call.method)
            if answer.status != 200:
                failures[describe_failure(call, answer.status, answer.body)] += 1
                return False
            if expect_body is not None and len(answer.body) != expect_body:
                failures[f"{call.action}: {len(answer.body)} bytes, not {expect_body}"] += 1
                return False
        except (asyncio.TimeoutError, OSError) as exc:
            failures[f"{call.action}: {type(exc).__name__} {exc}"[:200]] += 1
            return False
        return True
    return send


async def run_calls(calls: list[tuple[str, S3Call]], server: Server, label: str,
                    concurrency: int, seconds: float, warmup: int,
                    expect_body: int | None = None) -> tuple[RunResult, list[str]]:
    """Time ``calls[warmup:]`` at ``concurrency``; the result and the keys timed."""
    address = calls[0][1].address if calls else ("127.0.0.1", 80)
    result = await measure_units([call for _, call in calls], server, label, concurrency,
                                 seconds, warmup, checking_sender(expect_body),
                                 lambda limit: Connections(address, limit))
    timed = [key for key, _ in calls[warmup:warmup + result.units]]
    return result, timed
