"""Presenting a benchmark: the comparison table, the error samples and the JSON record.

``pair_rows(results)`` groups RunResults by (operation, concurrency) into rows holding ours and
the peer's result and the ratio of their rates (ours / peer; None when either is missing or the
peer did nothing). ``render`` prints them with rich; ``write_json`` stores the whole record.
"""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.driver import RunResult

OURS, PEER = "ours", "moto"


def pair_rows(results: list[RunResult]) -> list[dict]:
    rows: dict[tuple[str, int], dict] = {}
    for result in results:
        row = rows.setdefault((result.operation, result.concurrency),
                              {"operation": result.operation,
                               "concurrency": result.concurrency, OURS: None, PEER: None})
        row[result.server] = result
    for row in rows.values():
        ours, peer = row[OURS], row[PEER]
        row["ratio"] = (ours.rate / peer.rate) if ours and peer and peer.rate else None
    return list(rows.values())


def _figures(result: RunResult | None) -> list[str]:
    if result is None:
        return ["-"] * 5
    return [f"{result.rate:,.0f}", f"{result.p50_ms:.2f}", f"{result.p99_ms:.2f}",
            f"{result.server_cpu_s:.2f} ({result.server_cores:.2f})",
            f"{result.server_cpu_ms_per_unit:.2f}"]


def _errors(row: dict) -> str:
    counts = [str(row[name].errors) if row[name] else "-" for name in (OURS, PEER)]
    text = "/".join(counts)
    return f"[bold red]{text}[/]" if any(c not in ("0", "-") for c in counts) else text


def render(rows: list[dict], facts: dict, console: Console) -> None:
    table = Table(title="front door: ours vs moto (req/s counts units: a CreateUser+DeleteUser "
                        "pair is one); ratio = ours req/s / peer req/s; errors = ours/peer",
                  title_justify="left")
    table.add_column("operation", no_wrap=True)
    table.add_column("conc", justify="right")
    for who in ("ours", "peer"):
        table.add_column(f"{who} req/s", justify="right")
        table.add_column("p50 ms", justify="right")
        table.add_column("p99 ms", justify="right")
        table.add_column("cpu s (cores)", justify="right")
        table.add_column("cpu ms/req", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("errors", justify="right")
    for row in rows:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        table.add_row(row["operation"], str(row["concurrency"]), *_figures(row[OURS]),
                      *_figures(row[PEER]), ratio, _errors(row))
    console.print(table)
    console.print(f"os.cpu_count()={facts['cpu_count']}  load average at start "
                  f"{' '.join(map(str, facts['loadavg']))}  at end "
                  f"{' '.join(map(str, facts.get('loadavg_end', [])))}  "
                  "cpu s = user+system time of the server's process tree during the timed "
                  "phase; cores = cpu s / wall s; cpu ms/req = cpu s / units")
    idle = facts.get("idle_cpu_cores")
    if idle:
        console.print("idle server CPU before the runs (cores): "
                      + ", ".join(f"{name} {cores:.3f}" for name, cores in idle.items()))
    for row in rows:
        for name in (OURS, PEER):
            result = row[name]
            if result is None or not result.errors:
                continue
            console.print(f"[red]{name} {row['operation']} c={row['concurrency']}: "
                          f"{result.errors} failed of {result.units}[/]")
            for sample, count in result.error_samples.items():
                console.print(f"    {count} x {sample}", markup=False)


def to_record(rows: list[dict], facts: dict, settings: dict, servers: dict,
              preflight: list[dict]) -> dict:
    return {
        "machine": facts,
        "settings": settings,
        "servers": servers,
        "preflight": preflight,
        "results": [{"operation": r["operation"], "concurrency": r["concurrency"],
                     "ratio": r["ratio"],
                     OURS: r[OURS].as_dict() if r[OURS] else None,
                     PEER: r[PEER].as_dict() if r[PEER] else None} for r in rows],
    }


def write_json(record: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n")
