"""The parts of the benchmark that measure: percentiles, /proc CPU, the load loop, the table."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web

from bench import procstat
from bench.driver import measure, percentile
from bench.peers import Server, read_eucarc
from bench.report import pair_rows
from bench.workload import OPERATIONS, find_operations, parse, prepare, summarize

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_tree_cpu_counts_children_and_grandchildren():
    # A parent that starts a CPU-burning child and burns some itself, then idles.
    script = (f"import subprocess, sys, time\n"
              f"child = subprocess.Popen([sys.executable, '-c', {BURN.format(s=0.4)!r}])\n"
              f"{BURN.format(s=0.2)}child.wait()\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while procstat.tree_cpu_seconds(proc.pid) < 0.55:
            assert time.monotonic() < deadline, "CPU of the tree never reached 0.55 s"
            time.sleep(0.05)
        # The reaped child stays counted (through the parent's cutime).
        assert procstat.tree_cpu_seconds(proc.pid) >= 0.55
        assert proc.pid in procstat.descendants(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_read_stat_of_a_missing_process_is_none():
    assert procstat.read_stat(2**22 + 12345) is None


def test_read_eucarc(tmp_path: Path):
    rc = tmp_path / "eucarc"
    rc.write_text("# comment\nEUCA_KEY_DIR=$(pwd)\nexport EC2_URL=http://127.0.0.1:1/services/compute\n"
                  "export AWS_SECRET_ACCESS_KEY='a/b+c'\nexport AWS_DEFAULT_REGION=eucalyptus\n")
    values = read_eucarc(rc)
    assert values == {"EC2_URL": "http://127.0.0.1:1/services/compute",
                      "AWS_SECRET_ACCESS_KEY": "a/b+c", "AWS_DEFAULT_REGION": "eucalyptus"}


class _Proc:
    pid = os.getpid()


def _server(url: str) -> Server:
    return Server("ours", {"ec2": url, "iam": url, "sts": url}, "eucalyptus", "AKIDTEST",
                  "secret", _Proc(), Path("/dev/null"))


def test_prepare_signs_every_unit_with_fresh_names():
    op = find_operations(["CreateUser"])[0]
    units = prepare(op, _server("http://127.0.0.1:9/services/Euare"), 3)
    assert [call.action for call in units[0]] == ["CreateUser", "DeleteUser"]
    names = {call.body for unit in units for call in unit if call.action == "CreateUser"}
    assert len(names) == 3
    for unit in units:
        assert unit[0].body.replace(b"CreateUser", b"DeleteUser") == unit[1].body
        auth = unit[0].headers["Authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
        assert "/eucalyptus/iam/aws4_request" in auth
        assert b"Version=2010-05-08" in unit[0].body


def test_find_operations():
    assert len(find_operations(None)) == len(OPERATIONS) == 6
    assert [op.label for op in find_operations(["regions"])] == ["ec2 DescribeRegions"]
    with pytest.raises(ValueError):
        find_operations(["NoSuchThing"])


def test_parse_and_summarize_use_botocore():
    body = (b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            b"<requestId>r</requestId><regionInfo><item><regionName>eucalyptus</regionName>"
            b"<regionEndpoint>http://x</regionEndpoint></item></regionInfo>"
            b"</DescribeRegionsResponse>")
    assert summarize(parse("ec2", "DescribeRegions", 200, {}, body)) == "1 Regions"
    error = (b"<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
             b"<Message>gone</Message></Error><RequestId>r</RequestId></ErrorResponse>")
    assert summarize(parse("iam", "DeleteUser", 404, {}, error)) == "error NoSuchEntity: gone"


async def _measure_against(handler, op_name: str, concurrency: int, requests: int,
                           seconds: float = 10.0, warmup: int = 2):
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        op = find_operations([op_name])[0]
        return await measure(op, _server(f"http://127.0.0.1:{port}/"), concurrency, requests,
                             seconds=seconds, warmup=warmup)
    finally:
        await runner.cleanup()


def test_measure_counts_units_and_errors():
    seen = []

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        seen.append(form["Action"])
        if form["Action"] == "DeleteUser" and len(seen) % 4 == 0:
            return web.Response(status=404, text="<ErrorResponse><Error><Code>NoSuchEntity"
                                                 "</Code></Error></ErrorResponse>")
        return web.Response(text="<ok/>")

    result = asyncio.run(_measure_against(handler, "CreateUser", 3, 40))
    assert result.units == 40 and result.concurrency == 3
    assert 0 < result.errors < 40 and result.ok == 40 - result.errors
    assert list(result.error_samples) == ["DeleteUser: HTTP 404 NoSuchEntity"]
    assert result.error_samples["DeleteUser: HTTP 404 NoSuchEntity"] == result.errors
    assert len(seen) == 2 * (40 + 2)          # warm-up included, two calls per unit
    assert result.rate > 0 and 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    assert result.server_cpu_s >= 0


def test_measure_stops_at_the_time_cap():
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(text="<ok/>")

    began = time.monotonic()
    app_result = asyncio.run(_measure_against(slow, "DescribeRegions", 2, 1000,
                                              seconds=0.5, warmup=1))
    assert time.monotonic() - began < 5
    assert 0 < app_result.units < 1000 and app_result.errors == 0


def test_pair_rows_ratio():
    from bench.driver import RunResult
    ours = RunResult("ours", "ec2 DescribeRegions", 1, units=10, ok=10, rate=300.0)
    peer = RunResult("moto", "ec2 DescribeRegions", 1, units=10, ok=10, rate=100.0)
    lone = RunResult("ours", "sts GetCallerIdentity", 8, rate=50.0)
    rows = pair_rows([ours, peer, lone])
    assert rows[0]["ratio"] == pytest.approx(3.0)
    assert rows[1]["ratio"] is None and rows[1]["moto"] is None
