"""Presenting the S3 benchmark: the comparison table, the ceilings, failures, the JSON record.

``rows(figures, verdicts)`` pairs ours and the peer's Figure of each operation in the order
they were measured; ``render`` prints the table (value, latency percentiles, server CPU as
seconds and cores, the ratio "times better than the peer", the target and its verdict), the
reference ceilings and the machine's facts; ``record`` is everything as one JSON-ready dict.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.s3.ceilings import Ceiling
from bench.s3.figures import Figure, ratio
from bench.s3.targets import Verdict

OURS, PEER = "ours", "moto"


def rows(figures: list[Figure], verdicts: dict[str, Verdict]) -> list[dict]:
    found: dict[str, dict] = {}
    for figure in figures:
        row = found.setdefault(figure.operation, {"operation": figure.operation,
                                                  "unit": figure.unit, OURS: None, PEER: None})
        row[figure.server] = figure
    for row in found.values():
        row["ratio"] = ratio(row[OURS], row[PEER])
        row["verdict"] = verdicts.get(row["operation"])
    return list(found.values())


def _value(figure: Figure) -> str:
    if figure.unit == "s":
        return f"{figure.value:.3f}"
    return f"{figure.value:,.0f}" if figure.value >= 100 else f"{figure.value:,.1f}"


def _cells(figure: Figure | None) -> list[str]:
    if figure is None:
        return ["-"] * 4
    value = _value(figure) if figure.value or not figure.errors else "[red]failed[/]"
    if figure.errors and figure.value:
        value += f" [red]({figure.errors} err)[/]"
    latency = (f"{figure.p50_ms:.2f}/{figure.p99_ms:.2f}" if figure.p50_ms is not None
               else f"n={len(figure.samples)}")
    return [value, latency, f"{figure.server_cpu_s:.2f} ({figure.server_cores:.2f})",
            f"{figure.client_cpu_s:.2f}"]


def render(table_rows: list[dict], ceilings: dict[str, Ceiling], facts: dict,
           console: Console) -> None:
    table = Table(title="S3: Walrus (ours) vs moto; ratio = times better than moto (>1 ours "
                        "better); every figure is the median of its repeats",
                  title_justify="left")
    table.add_column("operation", no_wrap=True)
    table.add_column("unit")
    for who in (OURS, PEER):
        table.add_column(who, justify="right")
        table.add_column("p50/p99 ms", justify="right")
        table.add_column("srv cpu s (cores)", justify="right")
        table.add_column("cli cpu s", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("target", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for row in table_rows:
        verdict: Verdict | None = row["verdict"]
        mark = ""
        if verdict is not None:
            mark = ("[green]" if verdict.met else "[bold red]" if verdict.met is False
                    else "") + verdict.label + ("[/]" if verdict.met is not None else "")
            if verdict.threshold is not None:
                digits = 3 if row["unit"] == "s" else 0
                target = f"{verdict.target} = {verdict.threshold:,.{digits}f}"
            else:
                target = verdict.target
        else:
            target = ""
        table.add_row(row["operation"], row["unit"], *_cells(row[OURS]), *_cells(row[PEER]),
                      f"{row['ratio']:.2f}" if row["ratio"] is not None else "-", target, mark)
    console.print(table)
    if ceilings:
        console.print("this machine, same run: " + "; ".join(
            f"{c.name} {c.mb_s:,.0f} MB/s ({c.nbytes >> 20} MiB in {c.seconds:.2f} s)"
            for c in ceilings.values()))
    console.print(f"os.cpu_count()={facts['cpu_count']}  load average at start "
                  f"{' '.join(map(str, facts['loadavg']))}  at end "
                  f"{' '.join(map(str, facts.get('loadavg_end', [])))}  "
                  "srv cpu s = user+system CPU of the server's process tree during the timed "
                  "work; cores = cpu s / wall s; MB = 10^6 bytes")
    idle = facts.get("idle_cpu_cores")
    if idle:
        console.print("idle server CPU before the runs (cores): "
                      + ", ".join(f"{name} {cores:.3f}" for name, cores in idle.items()))
    for row in table_rows:
        for name in (OURS, PEER):
            figure = row[name]
            if figure is None or not figure.errors:
                continue
            console.print(f"[red]{name} {row['operation']}: {figure.errors} failed of "
                          f"{figure.count}[/]")
            for sample, count in figure.error_samples.items():
                console.print(f"    {count} x {sample}", markup=False)


def record(table_rows: list[dict], ceilings: dict[str, Ceiling], facts: dict,
           settings: dict, extra: dict) -> dict:
    return {
        "machine": facts,
        "settings": settings,
        "ceilings": {name: c.as_dict() for name, c in ceilings.items()},
        "results": [{"operation": r["operation"], "unit": r["unit"], "ratio": r["ratio"],
                     "verdict": r["verdict"].as_dict() if r["verdict"] else None,
                     OURS: r[OURS].as_dict() if r[OURS] else None,
                     PEER: r[PEER].as_dict() if r[PEER] else None} for r in table_rows],
        **extra,
    }
