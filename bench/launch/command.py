"""The launch benchmark's command: runs the parts asked for and prints one table.

Part "boot" (RunInstances-to-SSH on real guests against plain qemu, see bench.launch.boot)
needs root, network namespaces, QEMU and the starter image; without them it is reported as
skipped with the reason. Part "api" (bench.launch.api) needs only this repository and moto.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import peers
from bench.launch import api
from bench.launch.timing import fmt_ratio, table_rows

RESULTS = Path(__file__).resolve().parent.parent / "results" / "launch.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.launch", description=__doc__)
    p.add_argument("--population", type=int, default=1000,
                   help="instances on record for the API part (default 1000)")
    p.add_argument("--repeats", type=int, default=10,
                   help="timed calls of each API operation per server (default 10)")
    p.add_argument("--counts", default="1,4",
                   help="instance counts of the boot part, comma separated (default 1,4)")
    p.add_argument("--skip-boot", action="store_true", help="run only the API part")
    p.add_argument("--skip-api", action="store_true", help="run only the boot part")
    return p.parse_args(argv)


def api_table(result: dict, console: Console) -> list[dict]:
    samples = result["samples"]
    rows = table_rows([(label, by["ours"], by.get("moto")) for label, by in samples.items()])
    table = Table(title=f"Instance API with {result['population']} instances on record "
                        f"({result['repeats']} calls each, ms; instances per "
                        f"DescribeInstances answer: {result.get('listed')})")
    for col in ("call", "ours median", "ours p90", "ours server CPU", "moto median",
                "moto p90", "moto server CPU", "wall ratio", "CPU ratio", "errors"):
        table.add_column(col, justify="left" if col == "call" else "right")
    for row in rows:
        a, b = row["ours"], row["peer"] or {}
        table.add_row(row["label"], *(f"{a[k] * 1000:.1f}" for k in ("median", "p90", "cpu")),
                      *(f"{b.get(k, 0) * 1000:.1f}" for k in ("median", "p90", "cpu")),
                      fmt_ratio(row["wall_ratio"]), fmt_ratio(row["cpu_ratio"]),
                      f"{a['errors']}/{b.get('errors', 0)}")
    console.print(table)
    return rows


def boot_table(result: dict, console: Console) -> None:
    if result.get("skipped"):
        console.print(f"[yellow]boot part skipped: {result['skipped']}[/]")
        return
    table = Table(title="RunInstances to SSH on real guests against plain qemu (s)")
    for col in ("instances", "cloud", "plain qemu", "ratio (overhead)"):
        table.add_column(col, justify="right")
    for row in result["rows"]:
        table.add_row(str(row["count"]), f"{row['cloud']:.1f}", f"{row['plain']:.1f}",
                      fmt_ratio(row["ratio"]))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=160)
    facts_before = peers.machine_facts()
    console.print(f"cores: {facts_before['cpu_count']}, load average at start: "
                  f"{facts_before['loadavg']}")
    record: dict = {"facts_start": facts_before}
    status = 0
    with tempfile.TemporaryDirectory(prefix="bench-launch-") as tmp:
        work = Path(tmp)
        if not args.skip_boot:
            from bench.launch import boot
            counts = [int(c) for c in args.counts.split(",") if c.strip()]
            result = boot.run(counts, work / "boot", say=console.print)
            boot_table(result, console)
            record["boot"] = result
        if not args.skip_api:
            (work / "api").mkdir()
            result = api.run(args.population, args.repeats, work / "api", say=console.print)
            rows = api_table(result, console)
            record["api"] = rows
            if any(r["ours"]["errors"] or (r["peer"] or {}).get("errors") for r in rows):
                status = 1
    facts_after = peers.machine_facts()
    console.print(f"cores: {facts_after['cpu_count']}, load average at end: "
                  f"{facts_after['loadavg']}")
    record["facts_end"] = facts_after
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2, default=str))
    console.print(f"written to {os.path.relpath(RESULTS)}")
    return status
