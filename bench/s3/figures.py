"""One measured figure of one server, whatever its unit, and the ratio between two of them.

A ``Figure`` holds a value in its unit (``ops/s`` and ``MB/s`` are better higher, ``s`` is
better lower), the latency percentiles when there are many units, the CPU the server's process
tree spent (and the client's), and the failures. ``ratio(ours, peer)`` is always "how many
times better ours is": ours/peer for rates, peer/ours for durations; None when undefined.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from bench.driver import RunResult

LOWER_IS_BETTER = {"s"}


@dataclass
class Figure:
    server: str
    operation: str              # e.g. "PUT 4 KiB c=16", "GET 256 MiB", "LIST 10,000 keys"
    unit: str                   # "ops/s", "MB/s" or "s"
    value: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    count: int = 0              # units timed (requests, transfers or full listings)
    errors: int = 0
    wall_s: float = 0.0         # wall time of all timed units together
    server_cpu_s: float = 0.0   # CPU of the server's process tree over that wall time
    client_cpu_s: float = 0.0
    samples: list[float] = field(default_factory=list)   # per-repeat values, if repeated
    error_samples: dict[str, int] = field(default_factory=dict)

    @property
    def server_cores(self) -> float:
        return self.server_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "server_cores": round(self.server_cores, 3)}


def from_run(result: RunResult, operation: str) -> Figure:
    """A Figure of a load-loop run (ops/s of successful requests)."""
    return Figure(result.server, operation, "ops/s", result.rate, result.p50_ms,
                  result.p99_ms, result.units, result.errors, result.wall_s,
                  result.server_cpu_s, result.client_cpu_s,
                  error_samples=dict(result.error_samples))


def from_runs(results: list[RunResult], operation: str) -> Figure:
    """A Figure of repeated load-loop runs: the run of median rate (its latencies and CPU),
    every run's rate in ``samples``, requests and errors summed over the runs."""
    ranked = sorted(results, key=lambda r: r.rate)
    figure = from_run(ranked[(len(ranked) - 1) // 2], operation)
    figure.samples = [r.rate for r in results]
    figure.count = sum(r.units for r in results)
    figure.errors = sum(r.errors for r in results)
    figure.error_samples = {}
    for result in results:
        for sample, seen in result.error_samples.items():
            figure.error_samples[sample] = figure.error_samples.get(sample, 0) + seen
    return figure


def from_repeats(server: str, operation: str, unit: str, values: list[float],
                 wall_s: float, server_cpu_s: float, client_cpu_s: float, errors: int,
                 error_samples: dict[str, int]) -> Figure:
    """A Figure whose value is the median of repeated measurements (0 when none succeeded)."""
    return Figure(server, operation, unit, statistics.median(values) if values else 0.0,
                  count=len(values) + errors, errors=errors, wall_s=wall_s,
                  server_cpu_s=server_cpu_s, client_cpu_s=client_cpu_s, samples=values,
                  error_samples=error_samples)


def ratio(ours: Figure | None, peer: Figure | None) -> float | None:
    """Times better ours is than the peer (>1: ours better), None if either is missing."""
    if ours is None or peer is None or not ours.value or not peer.value:
        return None
    if ours.errors and ours.count == ours.errors or peer.errors and peer.count == peer.errors:
        return None
    if ours.unit in LOWER_IS_BETTER:
        return peer.value / ours.value
    return ours.value / peer.value
