"""The S3 load loop and listing against an in-process fake, and the whole command on moto."""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from aiohttp import web

from bench import peers
from bench.peers import Server
from bench.s3 import command
from bench.s3.listing import fill, list_all, time_listings
from bench.s3.small import get_calls, put_calls, run_calls


class _Proc:
    pid = os.getpid()


def _fake_s3(store: dict[str, bytes], fail_every: int = 0) -> web.Application:
    """Path-style S3 under /s3: PUT/GET objects, ListObjectsV2 with continuation tokens."""
    puts = [0]

    async def put(request: web.Request) -> web.Response:
        puts[0] += 1
        if fail_every and puts[0] % fail_every == 0:
            return web.Response(status=503, text="<Error><Code>SlowDown</Code></Error>")
        store[request.match_info["key"]] = await request.read()
        return web.Response(headers={"ETag": '"x"'})

    async def get(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key not in store:
            return web.Response(status=404, text="<Error><Code>NoSuchKey</Code></Error>")
        return web.Response(body=store[key][:-1] if "short" in key else store[key])

    async def listing(request: web.Request) -> web.Response:
        size = int(request.query.get("max-keys", "1000"))
        after = request.query.get("continuation-token", "tok&").removeprefix("tok&")
        keys = sorted(k for k in store if k > after)
        page, more = keys[:size], len(keys) > size
        xml = "<ListBucketResult>" + "".join(f"<Contents><Key>{escape(k)}</Key></Contents>"
                                              for k in page)
        xml += f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"
        if more:
            xml += f"<NextContinuationToken>{escape('tok&' + page[-1])}</NextContinuationToken>"
        return web.Response(text=xml + "</ListBucketResult>", content_type="application/xml")

    app = web.Application()
    app.router.add_put("/s3/{bucket}/{key:.+}", put)
    app.router.add_get("/s3/{bucket}/{key:.+}", get)
    app.router.add_get("/s3/{bucket}", listing)
    return app


async def _with_fake(store, body, fail_every=0):
    runner = web.AppRunner(_fake_s3(store, fail_every))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    server = Server("ours", {"s3": f"http://127.0.0.1:{port}/s3"}, "eucalyptus", "AKIDTEST",
                    "secret", _Proc(), Path("/dev/null"))
    try:
        return await body(server)
    finally:
        await runner.cleanup()


def test_small_runs_count_failures_and_short_bodies():
    store: dict[str, bytes] = {}

    async def body(server):
        calls = put_calls(server, "b", "small/o", 45, b"z" * 64)
        put, keys = await run_calls(calls, server, "PUT", 4, 10.0, 5)
        store["short-one"] = b"z" * 64
        gets = get_calls(server, "b", ["short-one"] + keys, 30)
        got, _ = await run_calls(gets, server, "GET", 4, 10.0, 0, expect_body=64)
        return put, keys, got

    put, keys, got = asyncio.run(_with_fake(store, body, fail_every=9))
    assert put.units == 40 and len(keys) == 40 and put.errors == 5   # the 9th, 18th ... 45th
    assert put.error_samples == {"PutObject: HTTP 503 SlowDown": 5}
    assert got.units == 30 and got.errors > 0
    assert set(got.error_samples) <= {"GetObject: HTTP 404 NoSuchKey",
                                      "GetObject: 63 bytes, not 64"}
    assert "GetObject: 63 bytes, not 64" in got.error_samples


def test_listing_pages_through_every_key():
    store: dict[str, bytes] = {"a&b<c": b""}

    async def body(server):
        filled = await fill(server, "b", 249, concurrency=8)
        async with __import__("aiohttp").ClientSession() as session:
            seen = await list_all(session, server, "b", page_size=40)
        good = await time_listings(server, "b", 250, repeats=2, page_size=40)
        wrong = await time_listings(server, "b", 300, repeats=1, page_size=40)
        return filled, seen, good, wrong

    filled, seen, good, wrong = asyncio.run(_with_fake(store, body))
    assert filled.ok == 249 and filled.errors == 0 and len(store) == 250
    assert seen == (250, 7)
    assert good.errors == 0 and len(good.samples) == 2 and good.value > 0
    assert good.unit == "s" and good.operation == "LIST 250 keys"
    assert wrong.errors == 1 and wrong.error_samples == {"listed 250 keys, not 300": 1}


def test_command_small_run(tmp_path: Path, capsys):
    if not (peers.BIN / "moto_server").exists():
        pytest.skip("moto_server is not installed (a benchmark peer only)")
    out = tmp_path / "s3.json"
    status = command.main(["--servers", "moto", "--seconds", "0.5", "--requests", "40",
                           "--warmup", "2", "--concurrency", "1,16", "--large-mib", "2",
                           "--repeats", "1", "--list-keys", "120", "--loopback-mib", "16",
                           "--json", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    record = json.loads(out.read_text())
    assert record["machine"]["cpu_count"] == os.cpu_count()
    assert set(record["ceilings"]) == {"loopback", "disk", "md5"}
    operations = [r["operation"] for r in record["results"]]
    assert operations == ["PUT 4 KiB c=1", "PUT 4 KiB c=16", "GET 4 KiB c=1", "GET 4 KiB c=16",
                          "PUT 2 MiB", "GET 2 MiB", "LIST 120 keys"]
    for row in record["results"]:
        assert row["moto"]["errors"] == 0 and row["moto"]["value"] > 0
        assert row["ours"] is None
    verdicts = {r["operation"]: r["verdict"] for r in record["results"]}
    assert verdicts["PUT 4 KiB c=16"]["met"] is None           # ours was not measured
    assert "LIST 120 keys" in printed and "loopback TCP" in printed


def test_bad_arguments_are_usage_errors():
    for argv in (["--servers", "nobody"], ["--phases", "everything"], ["--seconds", "0"]):
        with pytest.raises(SystemExit) as stop:
            command.main(argv)
        assert stop.value.code == 2
