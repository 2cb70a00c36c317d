"""Small measurement pieces of the launch benchmark: summaries and the ratio table.

``Sample`` holds the wall-clock seconds of repeated calls and the server CPU seconds they
cost; ``summary`` reduces it to median/p90/mean; ``ratio`` divides ours by the peer's (None
when the peer's figure is missing or zero); ``table_rows`` lays pairs out for printing.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


@dataclass
class Sample:
    label: str
    walls: list[float] = field(default_factory=list)   # seconds per call
    server_cpu: float = 0.0                             # server CPU seconds over all calls
    errors: int = 0

    def per_call_cpu(self) -> float:
        return self.server_cpu / len(self.walls) if self.walls else 0.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0 for an empty list)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summary(sample: Sample) -> dict[str, float]:
    """median, p90 and mean wall seconds, and server CPU seconds per call."""
    walls = sample.walls
    return {"n": len(walls), "median": statistics.median(walls) if walls else 0.0,
            "p90": percentile(walls, 0.9), "mean": statistics.fmean(walls) if walls else 0.0,
            "cpu": sample.per_call_cpu(), "errors": sample.errors}


def ratio(ours: float, peer: float) -> float | None:
    """ours / peer, None when the peer's figure is not positive."""
    return ours / peer if peer > 0 else None


def table_rows(pairs: list[tuple[str, Sample, Sample | None]]) -> list[dict]:
    """One row per (label, ours, peer): both summaries and the median and CPU ratios."""
    rows = []
    for label, ours, peer in pairs:
        a = summary(ours)
        b = summary(peer) if peer is not None else None
        rows.append({"label": label, "ours": a, "peer": b,
                     "wall_ratio": ratio(a["median"], b["median"]) if b else None,
                     "cpu_ratio": ratio(a["cpu"], b["cpu"]) if b else None})
    return rows


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
