"""The measuring parts of the S3 benchmark: ceilings, signing, raw transfers, the lean
keep-alive client, targets."""
from __future__ import annotations

import asyncio
import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from bench.driver import RunResult
from bench.peers import Server
from bench.s3 import ceilings
from bench.s3.figures import Figure, from_run, from_runs, ratio
from bench.s3.large import make_source
from bench.s3.signing import UNSIGNED, object_url, sha256_hex, sign
from bench.s3.targets import judge
from bench.s3.transfer import get_to_sink, put_file, request_head
from bench.s3.wire import Connections, request_bytes


class _Proc:
    pid = os.getpid()


def server_at(url: str, name: str = "ours") -> Server:
    return Server(name, {"s3": url}, "eucalyptus", "AKIDTEST", "secret", _Proc(),
                  Path("/dev/null"))


def test_ceilings_measure_what_they_say():
    loop = ceilings.loopback_mb_s(8 << 20)
    disk = ceilings.disk_write_mb_s(4 << 20)
    md5 = ceilings.md5_mb_s(4 << 20)
    assert (loop.nbytes, disk.nbytes, md5.nbytes) == (8 << 20, 4 << 20, 4 << 20)
    for ceiling in (loop, disk, md5):
        assert ceiling.seconds > 0 and ceiling.mb_s == pytest.approx(
            ceiling.nbytes / 1e6 / ceiling.seconds)
        assert ceiling.as_dict()["mb_s"] > 0


def test_pattern_block_is_incompressible_and_fixed():
    import zlib
    block = ceilings.pattern_block(1 << 16)
    assert len(block) == 1 << 16 and bytes(block) == bytes(ceilings.pattern_block(1 << 16))
    assert len(zlib.compress(bytes(block))) > 0.9 * len(block)


def test_sign_path_style_unsigned_payload():
    server = server_at("http://127.0.0.1:8779/services/objectstorage")
    call = sign(server, "PutObject", "PUT", "bkt", "a b/c+d", body=b"xyz")
    assert call.url == "http://127.0.0.1:8779/services/objectstorage/bkt/a%20b/c%2Bd"
    assert call.target == "/services/objectstorage/bkt/a%20b/c%2Bd"
    assert call.address == ("127.0.0.1", 8779)
    assert call.headers["X-Amz-Content-SHA256"] == UNSIGNED
    assert call.headers["Content-Length"] == "3"
    auth = call.headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
    assert "/eucalyptus/s3/aws4_request" in auth
    assert "content-length;host;x-amz-content-sha256;x-amz-date" in auth
    signed = sign(server, "PutObject", "PUT", "bkt", "k", body=b"xyz",
                  payload=sha256_hex(b"xyz"))
    assert signed.headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"xyz").hexdigest()
    get = sign(server, "ListObjectsV2", "GET", "bkt", query="list-type=2&max-keys=5")
    assert "Content-Length" not in get.headers and get.target.endswith("?list-type=2&max-keys=5")
    assert object_url(server, "b") == "http://127.0.0.1:8779/services/objectstorage/b"


def test_request_head_names_host_once():
    call = sign(server_at("http://127.0.0.1:9/s3"), "GetObject", "GET", "b", "k")
    head = request_head(call, {"Connection": "close"}).decode()
    assert head.startswith("GET /s3/b/k HTTP/1.1\r\nHost: 127.0.0.1:9\r\n")
    assert head.lower().count("host:") == 1 and head.endswith("Connection: close\r\n\r\n")


class _Handler(http.server.BaseHTTPRequestHandler):
    """PUT: MD5 of the body as ETag. GET /len/N, /chunked/N, /close/N: N bytes framed so."""
    protocol_version = "HTTP/1.1"
    payload = bytes(range(256)) * 4096          # 1 MiB

    def log_message(self, *args):
        pass

    def do_PUT(self):
        if "deny" in self.path:
            self.send_response(403)
            body = b"<Error><Code>AccessDenied</Code></Error>"
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            return
        left, digest = int(self.headers["Content-Length"]), hashlib.md5()
        while left:
            chunk = self.rfile.read(min(left, 1 << 16))
            digest.update(chunk)
            left -= len(chunk)
        self.send_response(200)
        self.send_header("ETag", f'"{digest.hexdigest()}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        _, framing, size = self.path.rsplit("/", 2)
        body = self.payload[:int(size)]
        self.send_response(200)
        if framing == "len":
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for at in range(0, len(body), 70000):
                piece = body[at:at + 70000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True


@pytest.fixture
def raw_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_at(f"http://127.0.0.1:{httpd.server_address[1]}/s3")
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("framing", ["len", "chunked", "close"])
def test_get_to_sink_counts_every_framing(raw_server, framing):
    size = 300_001
    exchange = get_to_sink(sign(raw_server, "GetObject", "GET", "b", f"{framing}/{size}"))
    assert exchange.status == 200 and exchange.received == size
    assert exchange.head == _Handler.payload[:64 << 10] and exchange.seconds > 0


def test_put_file_streams_exact_bytes(raw_server, tmp_path):
    source = make_source(3 << 20, str(tmp_path))
    try:
        call = sign(raw_server, "PutObject", "PUT", "b", "k", content_length=source.size)
        exchange = put_file(call, source.file, source.size)
        assert exchange.status == 200
        assert exchange.headers["etag"].strip('"') == source.md5
        source.file.seek(0)
        assert hashlib.md5(source.file.read()).hexdigest() == source.md5
        denied = put_file(sign(raw_server, "PutObject", "PUT", "b", "deny",
                               content_length=source.size), source.file, source.size)
        assert denied.status == 403 and b"AccessDenied" in denied.head
    finally:
        source.close()


def _fig(server, op, unit, value, errors=0, count=1):
    return Figure(server, op, unit, value, count=count, errors=errors)


def test_ratio_is_times_better_for_rates_and_durations():
    assert ratio(_fig("ours", "x", "ops/s", 900), _fig("moto", "x", "ops/s", 300)) == 3.0
    assert ratio(_fig("ours", "x", "s", 0.5), _fig("moto", "x", "s", 1.5)) == 3.0
    assert ratio(None, _fig("moto", "x", "s", 1.0)) is None
    assert ratio(_fig("ours", "x", "s", 0.0, errors=1), _fig("moto", "x", "s", 1.0)) is None
    run = RunResult("ours", "l", 16, units=10, ok=9, errors=1, wall_s=2.0, rate=4.5,
                    p50_ms=1.0, p99_ms=2.0, server_cpu_s=1.0)
    figure = from_run(run, "PUT 4 KiB c=16")
    assert (figure.value, figure.errors, figure.count, figure.server_cores) == (4.5, 1, 10, 0.5)


def test_repeated_small_runs_report_the_median_run():
    runs = [RunResult("ours", "l", 16, units=n, ok=n, errors=e, wall_s=1.0, rate=rate,
                      p50_ms=p50, server_cpu_s=cpu, error_samples=samples)
            for n, e, rate, p50, cpu, samples in [(50, 0, 50.0, 5.0, 0.5, {}),
                                                  (90, 1, 89.0, 1.0, 0.9, {"HTTP 500": 1}),
                                                  (70, 2, 68.0, 3.0, 0.7, {"HTTP 500": 2})]]
    figure = from_runs(runs, "PUT 4 KiB c=16")
    assert (figure.value, figure.p50_ms, figure.server_cpu_s) == (68.0, 3.0, 0.7)
    assert figure.samples == [50.0, 89.0, 68.0]
    assert (figure.count, figure.errors, figure.error_samples) == (210, 3, {"HTTP 500": 3})
    assert from_runs(runs[:2], "x").value == 50.0      # an even count: the lower middle run


def test_judge_applies_each_target():
    c = {"loopback": ceilings.Ceiling("l", 4000_000_000, 1.0),
         "md5": ceilings.Ceiling("m", 750_000_000, 1.0)}
    ours = {"PUT 4 KiB c=16": _fig("ours", "PUT 4 KiB c=16", "ops/s", 1500),
            "GET 4 KiB c=16": _fig("ours", "GET 4 KiB c=16", "ops/s", 1000),
            "PUT 4 KiB c=1": _fig("ours", "PUT 4 KiB c=1", "ops/s", 10),
            "GET 256 MiB": _fig("ours", "GET 256 MiB", "MB/s", 2500),
            "PUT 256 MiB": _fig("ours", "PUT 256 MiB", "MB/s", 300),
            "LIST 10,000 keys": _fig("ours", "LIST 10,000 keys", "s", 0.6)}
    peer = {"PUT 4 KiB c=16": _fig("moto", "PUT 4 KiB c=16", "ops/s", 460),
            "GET 4 KiB c=16": _fig("moto", "GET 4 KiB c=16", "ops/s", 500)}
    v = judge(ours, peer, c)
    assert "PUT 4 KiB c=1" not in v
    assert v["PUT 4 KiB c=16"].met and v["PUT 4 KiB c=16"].threshold == 1380
    assert v["GET 4 KiB c=16"].met is False and v["GET 4 KiB c=16"].fraction == pytest.approx(
        1000 / 1500)
    assert v["GET 256 MiB"].met and v["GET 256 MiB"].threshold == pytest.approx(2000)
    assert v["PUT 256 MiB"].met is False and v["PUT 256 MiB"].threshold == pytest.approx(600)
    assert v["LIST 10,000 keys"].met is False
    assert v["LIST 10,000 keys"].fraction == pytest.approx(0.5)
    assert v["LIST 10,000 keys"].label == "MISS (0.50x)"
    ours["PUT 256 MiB"].errors = 2
    assert judge(ours, peer, c)["PUT 256 MiB"].label == "MISS (2 errors)"
    assert judge(ours, {}, c)["GET 4 KiB c=16"].met is None
    short = {"LIST 7,000 keys": _fig("ours", "LIST 7,000 keys", "s", 0.1)}
    assert judge(short, {}, c) == {}                    # a short fill is not judged
    assert judge(short, {}, c, list_keys=7000)["LIST 7,000 keys"].met
    failed = {"PUT 256 MiB": _fig("ours", "PUT 256 MiB", "MB/s", 0.0, errors=3, count=3)}
    assert judge(failed, {}, c)["PUT 256 MiB"].label == "MISS (3 errors)"


def test_lean_client_reads_every_framing_and_reconnects(raw_server):
    """The keep-alive client of the small-object load reads answers framed by length, chunks
    or the connection's end, reuses a kept connection and opens another after a close."""
    calls = [sign(raw_server, "GetObject", "GET", "b", f"{framing}/{size}")
             for framing, size in (("len", 4096), ("len", 0), ("chunked", 300_001),
                                   ("close", 5000), ("len", 77))]
    put = sign(raw_server, "PutObject", "PUT", "b", "k", body=b"x" * 4096)

    async def run():
        async with Connections(calls[0].address, 2) as connections:
            answers = [await connections.exchange(request_bytes(c), c.method) for c in calls]
            kept = len(connections._idle)
            stored = await connections.exchange(request_bytes(put), put.method)
            return answers, kept, stored
    answers, kept, stored = asyncio.run(run())
    assert [(a.status, len(a.body)) for a in answers] == [
        (200, 4096), (200, 0), (200, 300_001), (200, 5000), (200, 77)]
    assert answers[2].body == _Handler.payload[:300_001]
    assert kept == 1                      # one connection kept, the closed one replaced
    assert stored.headers["etag"] == f'"{hashlib.md5(b"x" * 4096).hexdigest()}"'
