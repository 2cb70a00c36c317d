"""Internal RPC: signatures, typed messages, and a signed server/client pair over HTTP."""
from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from eucalyptus import errors
from eucalyptus.rpc import keys, signing
from eucalyptus.rpc.client import RpcClient
from eucalyptus.rpc.messages import (ClusterResources, NodeResources, NodeStatus, from_wire,
                                     to_wire)
from eucalyptus.rpc.server import RpcRoutes


@pytest.fixture
def keydir(tmp_path):
    for name in ("admin", "cc", "nc"):
        keys.make_key(tmp_path, name)
    return tmp_path


def test_key_files(keydir):
    assert (keydir / "keys" / "admin.pem").stat().st_mode & 0o777 == 0o600
    assert set(keys.load_public_keys(keydir)) == {"admin", "cc", "nc"}
    before = (keydir / "keys" / "cc.pem").read_bytes()
    assert keys.make_key(keydir, "cc") is False
    assert (keydir / "keys" / "cc.pem").read_bytes() == before


def test_signature_round_trip_and_tampering(keydir):
    trusted = keys.load_public_keys(keydir)
    key = keys.load_private(keydir, "cc")
    headers = signing.sign(key, "cc", "POST", "/internal/x?a=1", b'{"n": 1}')
    assert signing.verify(trusted, headers, "POST", "/internal/x?a=1", b'{"n": 1}') == "cc"
    for method, path, body in [("GET", "/internal/x?a=1", b'{"n": 1}'),
                               ("POST", "/internal/y?a=1", b'{"n": 1}'),
                               ("POST", "/internal/x?a=2", b'{"n": 1}'),
                               ("POST", "/internal/x?a=1", b'{"n": 2}')]:
        with pytest.raises(errors.AuthFailure):
            signing.verify(trusted, headers, method, path, body)
    # claiming to be another component with cc's signature
    with pytest.raises(errors.AuthFailure):
        signing.verify(trusted, {**headers, "X-Euca-Component": "nc"}, "POST",
                       "/internal/x?a=1", b'{"n": 1}')
    with pytest.raises(errors.AuthFailure, match="unknown component"):
        signing.verify(trusted, {**headers, "X-Euca-Component": "mallory"}, "POST",
                       "/internal/x?a=1", b'{"n": 1}')


def test_missing_headers_and_clock_skew(keydir):
    trusted = keys.load_public_keys(keydir)
    key = keys.load_private(keydir, "admin")
    with pytest.raises(errors.IncompleteSignature):
        signing.verify(trusted, {}, "GET", "/internal/health", b"")
    now = dt.datetime.now(dt.timezone.utc)
    old = signing.sign(key, "admin", "GET", "/internal/health", b"",
                       now=now - dt.timedelta(minutes=6))
    with pytest.raises(errors.RequestExpired):
        signing.verify(trusted, old, "GET", "/internal/health", b"", now=now)
    recent = signing.sign(key, "admin", "GET", "/internal/health", b"",
                          now=now - dt.timedelta(minutes=4))
    assert signing.verify(trusted, recent, "GET", "/internal/health", b"", now=now) == "admin"
    bad_date = {**recent, "X-Euca-Date": "yesterday"}
    with pytest.raises(errors.IncompleteSignature):
        signing.verify(trusted, bad_date, "GET", "/internal/health", b"", now=now)


def test_messages_round_trip_nested_and_optional():
    res = NodeResources("h:1", 2, 1, 1024, 512, 10, 5, instances=1, hypervisor="tcg")
    msg = ClusterResources("z", [NodeStatus("h:1", "up", 1.5, "", res),
                                 NodeStatus("h:2", "down", 0.0, "refused", None)])
    assert from_wire(ClusterResources, to_wire(msg)) == msg


@pytest.mark.parametrize("data, problem", [
    ({"zone": "z"}, "missing field nodes"),
    ({"zone": "z", "nodes": [], "extra": 1}, "unknown field"),
    ({"zone": 5, "nodes": []}, "must be of type str"),
    ({"zone": "z", "nodes": {}}, "must be a list"),
    ({"zone": "z", "nodes": [{"address": "a", "state": "up", "last_seen": "x"}]},
     "must be of type float"),
    ([], "must be a JSON object"),
])
def test_bad_messages_are_validation_errors(data, problem):
    with pytest.raises(errors.ValidationError, match=problem):
        from_wire(ClusterResources, data)


@dataclass
class Echo:
    text: str
    numbers: list[int] = field(default_factory=list)


def run_server(keydir, routes_setup, scenario):
    """Serve RpcRoutes on a free loopback port and run ``scenario(base_url)``."""
    async def main():
        routes = RpcRoutes(keydir)
        routes_setup(routes)
        app = web.Application()
        routes.install(app)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            return await scenario(f"http://127.0.0.1:{port}")
        finally:
            await runner.cleanup()
    return asyncio.run(main())


def echo_routes(routes: RpcRoutes) -> None:
    async def echo(msg: Echo, caller: str):
        if msg.text == "boom":
            raise RuntimeError("handler bug")
        if msg.text == "missing":
            raise errors.NotFound("NoSuchEntity", "nothing called missing")
        return {"text": msg.text, "caller": caller, "sum": sum(msg.numbers)}
    routes.add("POST", "echo", echo, Echo)
    routes.add("POST", "admin-only", echo, Echo, callers={"admin"})


def test_signed_calls_and_errors(keydir):
    async def scenario(url):
        async with RpcClient.for_caller(keydir, "cc", url) as cc, \
                RpcClient.for_caller(keydir, "admin", url) as admin:
            ok = await cc.call("POST", "echo", Echo("hi", [1, 2]))
            assert ok == {"text": "hi", "caller": "cc", "sum": 3}
            with pytest.raises(errors.AccessDenied) as denied:
                await cc.call("POST", "admin-only", Echo("x"))
            assert denied.value.status == 403
            assert (await admin.call("POST", "admin-only", Echo("x")))["caller"] == "admin"
            with pytest.raises(errors.NotFound) as missing:
                await cc.call("POST", "echo", Echo("missing"))
            assert missing.value.code == "NoSuchEntity" and missing.value.status == 404
            with pytest.raises(errors.InternalError) as bug:
                await cc.call("POST", "echo", Echo("boom"))
            assert bug.value.status == 500 and "handler bug" not in bug.value.message
            with pytest.raises(errors.ValidationError):
                await cc.call("POST", "echo", {"text": 3})
        async with aiohttp.ClientSession() as http:
            async with http.post(url + "/internal/echo", json={"text": "hi"}) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["code"] == "IncompleteSignature"
            # a valid signature replayed with a different body
            headers = signing.sign(keys.load_private(keydir, "cc"), "cc", "POST",
                                   "/internal/echo", b'{"text": "a"}')
            async with http.post(url + "/internal/echo", data=b'{"text": "b"}',
                                 headers=headers) as resp:
                assert resp.status == 401
                assert (await resp.json())["error"]["code"] == "AuthFailure"
            headers = signing.sign(keys.load_private(keydir, "cc"), "cc", "POST",
                                   "/internal/echo", b"not json")
            async with http.post(url + "/internal/echo", data=b"not json",
                                 headers=headers) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["code"] == "ValidationError"
    run_server(keydir, echo_routes, scenario)


def test_new_key_is_picked_up_after_start(keydir):
    async def scenario(url):
        keys.make_key(keydir, "sc")       # a component added after the server started
        async with RpcClient.for_caller(keydir, "sc", url) as sc:
            assert (await sc.call("POST", "echo", Echo("hi")))["caller"] == "sc"
    run_server(keydir, echo_routes, scenario)


def test_unreachable_component_is_service_unavailable(keydir):
    async def scenario():
        async with RpcClient.for_caller(keydir, "cc", "http://127.0.0.1:9", timeout=2) as c:
            with pytest.raises(errors.ServiceUnavailable):
                await c.call("GET", "health")
    asyncio.run(scenario())
