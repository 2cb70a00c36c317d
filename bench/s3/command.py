"""The S3 benchmark command: Walrus against moto's S3 server, side by side, time-bounded.

    .venv/bin/python -m bench.s3 [--servers ours,moto] [--seconds 4] [--requests 4000]
                                 [--concurrency 1,16] [--large-mib 256] [--list-keys 10000]
                                 [--phases ceilings,small,large,list] [--json PATH]

Starts the servers, checks each does S3 (a server that does not is reported and left out),
measures this machine's ceilings, then runs each phase against every server in turn and prints
the table. Exit status: 0 when every request succeeded, 1 when any failed or a server was left
out, 2 when no server could be started.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bench import peers
from bench.front_door import idle_cpu, start_server
from bench.report import write_json
from bench.s3 import ceilings as ceiling_probes
from bench.s3.figures import Figure, from_runs
from bench.s3.large import make_source, get_large, put_large
from bench.s3.listing import fill, time_listings
from bench.s3.preflight import bucket_name, check
from bench.s3.small import SMALL_SIZE, get_calls, put_calls, run_calls, small_body
from bench.s3.table import record, render, rows
from bench.s3.targets import judge

RESULTS = Path(__file__).resolve().parent.parent / "results" / "s3-latest.json"
SERVERS = ("ours", "moto")
PHASES = ("ceilings", "small", "large", "list")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.s3",
                                     description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--servers", default="ours,moto", help="comma-separated: ours, moto (default both)")
    add("--phases", default=",".join(PHASES), help=f"comma-separated of {', '.join(PHASES)}")
    add("--seconds", type=float, default=4.0, help="cap on each small-object run (default 4)")
    add("--requests", type=int, default=4000,
        help="cap on timed requests per small-object run (default 4000)")
    add("--warmup", type=int, default=50, help="untimed requests first (default 50)")
    add("--concurrency", default="1,16", help="small-object concurrencies (default 1,16)")
    add("--sign-payload", action="store_true",
        help="sign the SHA-256 of small bodies (computed in advance) instead of UNSIGNED-PAYLOAD")
    add("--large-mib", type=int, default=256, help="size of the large object (default 256)")
    add("--repeats", type=int, default=3,
        help="runs of each small-object figure, transfers and listings per server; the "
             "median reported (default 3)")
    add("--list-keys", type=int, default=10000, help="keys in the listed bucket (default 10000)")
    add("--fill-seconds", type=float, default=60.0,
        help="cap on filling the listed bucket, per server (default 60)")
    add("--loopback-mib", type=int, default=1024, help="bytes pushed for the loopback ceiling")
    add("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    args.servers = [s for s in args.servers.split(",") if s]
    args.phases = [p for p in args.phases.split(",") if p]
    if set(args.servers) - set(SERVERS) or not args.servers:
        parser.error(f"--servers takes {', '.join(SERVERS)}")
    if set(args.phases) - set(PHASES):
        parser.error(f"--phases takes {', '.join(PHASES)}")
    if (args.requests < 1 or args.seconds <= 0 or not args.concurrency
            or min(args.concurrency) < 1 or args.large_mib < 1 or args.list_keys < 1
            or args.repeats < 1 or args.loopback_mib < 1 or args.fill_seconds <= 0):
        parser.error("counts, sizes and --seconds must be positive")
    return args


def _say(console: Console, figure: Figure) -> None:
    flag = f"  [red]{figure.errors} errors[/]" if figure.errors else ""
    latency = (f"p50 {figure.p50_ms:6.2f} ms p99 {figure.p99_ms:6.2f} ms"
               if figure.p50_ms is not None else f"n={len(figure.samples)}")
    console.print(f"  {figure.server:<5} {figure.operation:<18} {figure.value:10,.3f} "
                  f"{figure.unit:<5} {latency}  server cpu {figure.server_cpu_s:5.2f} s"
                  f"{flag}")


async def small_phase(servers, buckets, args, console) -> list[Figure]:
    """Each small-object figure is the median of ``args.repeats`` runs; the servers take
    turns run by run, so drift of the machine hits both alike."""
    figures, keys = [], {s.name: [] for s in servers}
    body = small_body()
    count = args.warmup + args.requests
    for action in ("PUT", "GET"):
        for concurrency in args.concurrency:
            label = f"{action} {SMALL_SIZE >> 10} KiB c={concurrency}"
            runs: dict[str, list] = {s.name: [] for s in servers}
            for _ in range(args.repeats):
                for server in servers:
                    if action == "PUT":
                        calls = put_calls(server, buckets[server.name], "small/o", count, body,
                                          args.sign_payload)
                        result, timed = await run_calls(calls, server, label, concurrency,
                                                        args.seconds, args.warmup)
                        keys[server.name] += timed
                    elif keys[server.name]:
                        calls = get_calls(server, buckets[server.name], keys[server.name],
                                          count)
                        result, _ = await run_calls(calls, server, label, concurrency,
                                                    args.seconds, args.warmup, len(body))
                    else:
                        continue
                    runs[server.name].append(result)
            for server in servers:
                if runs[server.name]:
                    figures.append(from_runs(runs[server.name], label))
                    _say(console, figures[-1])
    return figures


def large_phase(servers, buckets, args, console) -> list[Figure]:
    source = make_source(args.large_mib << 20)
    figures = []
    try:
        for step in (put_large, get_large):
            for server in servers:
                figures.append(step(server, buckets[server.name], "large/object", source,
                                    args.repeats))
                _say(console, figures[-1])
    finally:
        source.close()
    return figures


async def list_phase(servers, buckets, args, console) -> list[Figure]:
    figures, filled = [], {}
    for server in servers:
        result = await fill(server, buckets[server.name], args.list_keys, args.fill_seconds)
        filled[server.name] = result.ok
        short = (f"  [red]fewer than {args.list_keys:,}: its listing is shown apart and "
                 "not judged[/]" if result.ok < args.list_keys else "")
        console.print(f"  {server.name:<5} filled {result.ok:,} keys in {result.wall_s:.1f} s "
                      f"({result.rate:,.0f} PUT/s at c=16, {result.errors} errors){short}")
    for server in servers:
        figures.append(await time_listings(server, buckets[server.name], filled[server.name],
                                           args.repeats))
        _say(console, figures[-1])
    return figures


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables the caller has not set, for the duration of the block."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=220)
    facts = peers.machine_facts()
    facts["started"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    console.print(f"os.cpu_count()={facts['cpu_count']}  load average "
                  f"{' '.join(map(str, facts['loadavg']))}")
    began = time.monotonic()
    servers: list[peers.Server] = []
    for name in args.servers:
        console.print(f"starting {name} ...")
        try:
            # The starter image (built at a cloud's first start) plays no part in S3.
            with environment(EUCA_STARTER_IMAGE="no"):
                servers.append(start_server(name, console))
            console.print(f"  {name}: pid {servers[-1].pid}, S3 at {servers[-1].urls['s3']}")
        except (peers.ServerFailed, OSError, KeyError) as exc:
            console.print(f"[red]{name} did not start:[/] {escape(str(exc))}")
    if not servers:
        return 2
    left_out = [n for n in args.servers if n not in {s.name for s in servers}]
    figures: list[Figure] = []
    checks: dict[str, list[str]] = {}
    try:
        facts["idle_cpu_cores"] = idle_cpu(servers)
        buckets: dict[str, dict[str, str]] = {}
        for server in list(servers):
            names = {"small": bucket_name("small"), "list": bucket_name("list")}
            try:
                checks[server.name] = asyncio.run(check(server, list(names.values())))
                buckets[server.name] = names
                console.print(f"  check {server.name}: " + "; ".join(checks[server.name]))
            except Exception as exc:   # preflight.NotServing or worse: reported, run goes on
                checks[server.name] = [f"{type(exc).__name__}: {exc}"]
                console.print(f"[red]  {server.name} does not serve S3, left out:[/] "
                              f"{escape(str(exc))}")
                servers.remove(server)
                server.stop()
                left_out.append(server.name)
        ceilings = {}
        if "ceilings" in args.phases:
            ceilings = ceiling_probes.measure_all(loopback=args.loopback_mib << 20)
            console.print("  ceilings: " + "; ".join(f"{c.name} {c.mb_s:,.0f} MB/s"
                                                     for c in ceilings.values()))
        small = {s.name: buckets[s.name]["small"] for s in servers}
        if servers and "small" in args.phases:
            figures += asyncio.run(small_phase(servers, small, args, console))
        if servers and "large" in args.phases:
            figures += large_phase(servers, small, args, console)
        if servers and "list" in args.phases:
            listed = {s.name: buckets[s.name]["list"] for s in servers}
            figures += asyncio.run(list_phase(servers, listed, args, console))
        server_info = {s.name: {"pid": s.pid, "s3": s.urls["s3"]} for s in servers}
    finally:
        for server in servers:
            server.stop()
    facts["loadavg_end"] = [round(x, 2) for x in peers.machine_facts()["loadavg"]]
    facts["elapsed_s"] = round(time.monotonic() - began, 1)
    verdicts = judge({f.operation: f for f in figures if f.server == "ours"},
                     {f.operation: f for f in figures if f.server == "moto"}, ceilings,
                     args.list_keys)
    table_rows = rows(figures, verdicts)
    render(table_rows, ceilings, facts, console)
    settings = {k: v for k, v in vars(args).items() if k != "json"}
    write_json(record(table_rows, ceilings, facts, settings,
                      {"servers": server_info, "preflight": checks, "left_out": left_out}),
               args.json)
    if left_out:
        console.print(f"[red]left out: {', '.join(left_out)}[/]")
    console.print(f"results: {args.json}  ({facts['elapsed_s']} s in all)")
    return 1 if left_out or any(f.errors for f in figures) else 0
