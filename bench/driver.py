"""The load loop: send prepared units of work at a fixed concurrency and measure them.

``measure(op, server, concurrency, requests, seconds, warmup)`` signs ``warmup + requests``
units, sends the warm-up units untimed for at most a second (this also opens the keep-alive
connections), then runs ``concurrency`` workers over the rest until they are all sent or
``seconds`` have passed, whichever comes first. A unit succeeds only if every call in it answered HTTP 200; anything
else (another status, a transport error) is counted and a few distinct samples are kept. The
server's CPU is read from /proc around the timed phase only.
"""
from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import AsyncContextManager, Awaitable, Callable

import aiohttp

from bench.peers import Server
from bench.procstat import self_cpu_seconds, tree_cpu_seconds
from bench.workload import Call, Operation, prepare

REQUEST_TIMEOUT_S = 30.0
WARMUP_CAP_S = 1.0
MAX_SAMPLES = 5
_CODE = re.compile(rb"<Code>([^<]*)</Code>")
Sender = Callable[[aiohttp.ClientSession, object, Counter], Awaitable[bool]]
Sessions = Callable[[int], AsyncContextManager]


@dataclass
class RunResult:
    server: str
    operation: str
    concurrency: int
    units: int = 0                  # units completed in the timed phase
    ok: int = 0
    errors: int = 0
    wall_s: float = 0.0
    rate: float = 0.0               # successful units per second
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    max_ms: float = 0.0
    server_cpu_s: float = 0.0       # CPU of the server's whole process tree
    server_cores: float = 0.0       # server_cpu_s / wall_s
    server_cpu_ms_per_unit: float = 0.0
    client_cpu_s: float = 0.0
    error_samples: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0 for an empty list); ``fraction`` in [0, 1]."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered) - 1e-9)
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def describe_failure(call: Call, status: int, body: bytes) -> str:
    match = _CODE.search(body)
    detail = match.group(1).decode(errors="replace") if match else body[:120].decode(
        errors="replace").replace("\n", " ")
    return f"{call.action}: HTTP {status} {detail}"


async def send_unit(session: aiohttp.ClientSession, unit: tuple[Call, ...],
                    failures: Counter) -> bool:
    """Send the calls of one unit in order; False (and a sample) at the first failure."""
    for call in unit:
        try:
            async with session.post(call.url, data=call.body, headers=call.headers) as resp:
                body = await resp.read()
                if resp.status != 200:
                    failures[describe_failure(call, resp.status, body)] += 1
                    return False
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            failures[f"{call.action}: {type(exc).__name__} {exc}"[:200]] += 1
            return False
    return True


async def drive(units: list, concurrency: int, seconds: float,
                session: aiohttp.ClientSession, failures: Counter,
                send: Sender = send_unit) -> tuple[list[float], int]:
    """Run the units with ``concurrency`` workers; (latencies of good units, failed count).

    ``send(session, unit, failures)`` sends one unit and says whether it succeeded.
    """
    latencies: list[float] = []
    failed = 0
    position = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal position, failed
        while position < len(units) and time.perf_counter() < deadline:
            unit = units[position]
            position += 1
            began = time.perf_counter()
            if await send(session, unit, failures):
                latencies.append(time.perf_counter() - began)
            else:
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failed


async def measure(op: Operation, server: Server, concurrency: int, requests: int,
                  seconds: float, warmup: int = 20) -> RunResult:
    units = prepare(op, server, warmup + requests)
    return await measure_units(units, server, op.label, concurrency, seconds, warmup)


def aiohttp_session(concurrency: int) -> aiohttp.ClientSession:
    """An aiohttp session whose keep-alive pool is sized to the concurrency."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)


async def measure_units(units: list, server: Server, label: str, concurrency: int,
                        seconds: float, warmup: int, send: Sender = send_unit,
                        sessions: Sessions = aiohttp_session) -> RunResult:
    """Send ``units[:warmup]`` untimed, then time the rest as ``measure`` does; ``send``
    gets the session ``sessions(concurrency)`` opens."""
    result = RunResult(server.name, label, concurrency)
    failures: Counter = Counter()
    async with sessions(concurrency) as session:
        await drive(units[:warmup], concurrency, WARMUP_CAP_S, session, Counter(), send)
        cpu0, client0 = tree_cpu_seconds(server.pid), self_cpu_seconds()
        began = time.perf_counter()
        latencies, failed = await drive(units[warmup:], concurrency, seconds, session,
                                        failures, send)
        result.wall_s = time.perf_counter() - began
        result.server_cpu_s = tree_cpu_seconds(server.pid) - cpu0
        result.client_cpu_s = self_cpu_seconds() - client0
    result.ok, result.errors = len(latencies), failed
    result.units = result.ok + result.errors
    result.rate = result.ok / result.wall_s if result.wall_s else 0.0
    result.server_cores = result.server_cpu_s / result.wall_s if result.wall_s else 0.0
    result.server_cpu_ms_per_unit = (result.server_cpu_s * 1000 / result.units
                                     if result.units else 0.0)
    result.p50_ms = percentile(latencies, 0.50) * 1000
    result.p99_ms = percentile(latencies, 0.99) * 1000
    result.mean_ms = (sum(latencies) / len(latencies) * 1000) if latencies else 0.0
    result.max_ms = max(latencies, default=0.0) * 1000
    result.error_samples = dict(failures.most_common(MAX_SAMPLES))
    return result
