"""Benchmark of the front door: our cloud-in-a-box against moto's server, side by side.

    .venv/bin/python -m bench.front_door [--requests 2000] [--seconds 3] [--concurrency 1,8]
                                         [--only DescribeRegions ...] [--servers ours,moto]

Starts the servers (ours with ``eucalyptus up`` on a temp data dir; moto's server, installed
into this venv when missing), checks every operation once through botocore's parser, then for
each operation and concurrency drives each server in turn with the same pre-signed requests,
and prints the table and writes bench/results/latest.json. Exit status: 0 when every request
answered 200, 1 when any failed, 2 when a server could not start.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.markup import escape

from bench import peers
from bench.driver import RunResult, measure
from bench.procstat import tree_cpu_seconds
from bench.report import pair_rows, render, to_record, write_json
from bench.workload import Operation, find_operations, parse, prepare, summarize

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
SERVERS = ("ours", "moto")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.front_door",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="timed units per operation, concurrency and server (default 2000)")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="cap on each timed run, whichever of the two ends first (default 3)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed units sent first on each run (default 20)")
    parser.add_argument("--concurrency", default="1,8",
                        help="comma-separated concurrency levels (default 1,8)")
    parser.add_argument("--only", nargs="*", metavar="OP",
                        help="run only operations whose name contains one of these")
    parser.add_argument("--servers", default="ours,moto",
                        help="comma-separated: ours, moto (default both)")
    parser.add_argument("--json", type=Path, default=RESULTS,
                        help=f"where to write the results (default {RESULTS})")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    args.servers = [s for s in args.servers.split(",") if s]
    unknown = set(args.servers) - set(SERVERS)
    if unknown or not args.servers:
        parser.error(f"--servers takes {', '.join(SERVERS)}")
    if args.requests < 1 or args.seconds <= 0 or not args.concurrency or min(args.concurrency) < 1:
        parser.error("--requests, --seconds and --concurrency must be positive")
    return args


def start_server(name: str, console: Console) -> peers.Server:
    if name == "ours":
        return peers.start_ours()
    return peers.start_moto(say=lambda text: console.print(text, markup=False))


def idle_cpu(servers: list[peers.Server], seconds: float = 2.0) -> dict[str, float]:
    """Cores each server's process tree uses while nobody calls it (its background cost)."""
    before = {s.name: tree_cpu_seconds(s.pid) for s in servers}
    time.sleep(seconds)
    return {s.name: round((tree_cpu_seconds(s.pid) - before[s.name]) / seconds, 4)
            for s in servers}


async def preflight(ops: list[Operation], servers: list[peers.Server]) -> list[dict]:
    """Send each operation once to each server and decode every answer with botocore."""
    checks = []
    async with aiohttp.ClientSession() as session:
        for op in ops:
            for server in servers:
                for call in prepare(op, server, 1)[0]:
                    try:
                        async with session.post(call.url, data=call.body,
                                                headers=call.headers) as resp:
                            body = await resp.read()
                            status, headers = resp.status, dict(resp.headers)
                        summary = summarize(parse(op.service, call.action, status, headers, body))
                    except Exception as exc:   # reported, never fatal: the runs count errors
                        status, summary = 0, f"{type(exc).__name__}: {exc}"
                    checks.append({"server": server.name, "operation": op.label,
                                   "action": call.action, "status": status,
                                   "summary": summary})
    return checks


async def run_all(ops: list[Operation], servers: list[peers.Server], args,
                  console: Console) -> list[RunResult]:
    results = []
    for op in ops:
        for concurrency in args.concurrency:
            for server in servers:       # interleaved, so drift in the machine hits both
                result = await measure(op, server, concurrency, args.requests, args.seconds,
                                       args.warmup)
                flag = f"  [red]{result.errors} errors[/]" if result.errors else ""
                console.print(f"  {server.name:<5} {op.label:<30} c={concurrency:<3} "
                              f"{result.rate:8,.0f}/s  p50 {result.p50_ms:6.2f} ms  "
                              f"p99 {result.p99_ms:6.2f} ms  cpu {result.server_cpu_s:5.2f} s"
                              f"{flag}")
                results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=200)
    ops = find_operations(args.only)
    facts = peers.machine_facts()
    facts["started"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    console.print(f"os.cpu_count()={facts['cpu_count']}  load average "
                  f"{' '.join(map(str, facts['loadavg']))}")
    servers: list[peers.Server] = []
    began = time.monotonic()
    try:
        for name in args.servers:
            console.print(f"starting {name} ...")
            server = start_server(name, console)
            servers.append(server)
            console.print(f"  {name}: pid {server.pid}, {server.urls['ec2']} "
                          f"(region {server.region})")
    except (peers.ServerFailed, OSError, KeyError) as exc:
        console.print(f"[red]could not start the servers:[/] {escape(str(exc))}")
        for server in servers:
            server.stop()
        return 2
    try:
        facts["idle_cpu_cores"] = idle_cpu(servers)
        checks = asyncio.run(preflight(ops, servers))
        for check in checks:
            style = "" if check["status"] == 200 else "[red]"
            console.print(f"  check {style}{check['server']:<5} {check['action']:<26} "
                          f"{check['status']} {escape(check['summary'])}")
        results = asyncio.run(run_all(ops, servers, args, console))
        server_info = {s.name: {"pid": s.pid, "urls": s.urls, "region": s.region}
                       for s in servers}
    finally:
        for server in servers:
            server.stop()
    facts["loadavg_end"] = [round(x, 2) for x in peers.machine_facts()["loadavg"]]
    facts["elapsed_s"] = round(time.monotonic() - began, 1)
    rows = pair_rows(results)
    render(rows, facts, console)
    settings = {"requests": args.requests, "seconds": args.seconds, "warmup": args.warmup,
                "concurrency": args.concurrency, "servers": args.servers,
                "operations": [op.label for op in ops]}
    write_json(to_record(rows, facts, settings, server_info, checks), args.json)
    console.print(f"results: {args.json}  ({facts['elapsed_s']} s in all)")
    failed = any(r.errors for r in results) or any(c["status"] != 200 for c in checks)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
