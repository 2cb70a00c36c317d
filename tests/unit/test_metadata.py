"""The metadata service over HTTP (aiohttp's test server): EC2 paths, IMDSv2 token rules,
answers only for the asking address. The test client connects from 127.0.0.1, so the
instance under test is registered with that address."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from eucalyptus import errors
from eucalyptus.cc.vnet.metadata import (TOKEN_HEADER, TTL_HEADER, MetadataStore, TokenSigner,
                                         make_app)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0 alice@example"
DOCUMENT = {
    "ami-id": "emi-1a2b3c4d", "ami-launch-index": "0", "reservation-id": "r-1a2b3c4d",
    "instance-type": "t1.micro", "hostname": "euca-127-0-0-1.eucalyptus.internal",
    "local-hostname": "euca-127-0-0-1.eucalyptus.internal", "public-ipv4": "10.88.0.50",
    "public-hostname": "euca-10-88-0-50.eucalyptus.com", "mac": "d0:0d:1a:2b:3c:4d",
    "security-groups": ["default", "web"],
    "placement": {"availability-zone": "eucalyptus-1a", "region": "eucalyptus"},
    "public-keys": {"alice": KEY},
    "block-device-mapping": {"ami": "/dev/sda1", "root": "/dev/sda1"},
    "user-data": base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
    "account-id": "123456789012", "pending-time": "2024-05-01T10:00:00Z",
}


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def serve(store: MetadataStore, clock: Clock | None = None):
    """Run ``scenario(client)`` against the service; returns a runner for asyncio.run."""
    def runner(scenario):
        async def main():
            app = make_app(store, TokenSigner(clock or Clock()))
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                await scenario(client)
        asyncio.run(main())
    return runner


async def text(client, path, **kw):
    resp = await client.get(path, **kw)
    return resp.status, await resp.text()


def test_meta_data_paths_as_ec2_serves_them(tmp_path):
    store = MetadataStore(tmp_path)
    store.put("i-1a2b3c4d", "127.0.0.1", DOCUMENT)

    async def scenario(client):
        status, index = await text(client, "/latest/meta-data/")
        assert status == 200
        assert index.splitlines() == [
            "ami-id", "ami-launch-index", "block-device-mapping/", "hostname", "instance-id",
            "instance-type", "local-hostname", "local-ipv4", "mac", "placement/",
            "public-hostname", "public-ipv4", "public-keys/", "reservation-id",
            "security-groups"]
        expect = {
            "instance-id": "i-1a2b3c4d", "ami-id": "emi-1a2b3c4d", "local-ipv4": "127.0.0.1",
            "hostname": DOCUMENT["hostname"], "local-hostname": DOCUMENT["local-hostname"],
            "public-ipv4": "10.88.0.50", "public-hostname": DOCUMENT["public-hostname"],
            "instance-type": "t1.micro", "reservation-id": "r-1a2b3c4d",
            "security-groups": "default\nweb", "mac": "d0:0d:1a:2b:3c:4d",
            "placement/availability-zone": "eucalyptus-1a", "placement/region": "eucalyptus",
            "public-keys/": "0=alice", "public-keys/0": "openssh-key",
            "public-keys/0/": "openssh-key", "public-keys/0/openssh-key": KEY,
            "block-device-mapping/": "ami\nroot", "block-device-mapping/ami": "/dev/sda1",
            "placement": "availability-zone\nregion",          # no slash: still the index
        }
        for path, want in expect.items():
            assert await text(client, f"/latest/meta-data/{path}") == (200, want), path
        # date versions are aliases of latest; unknown versions and paths are 404
        assert await text(client, "/2009-04-04/meta-data/instance-id") == (200, "i-1a2b3c4d")
        assert (await text(client, "/1999-01-01/meta-data/instance-id"))[0] == 404
        assert (await text(client, "/latest/meta-data/nothing-here"))[0] == 404
        assert (await text(client, "/latest/meta-data/instance-id/more"))[0] == 404
        status, versions = await text(client, "/")
        assert status == 200 and versions.splitlines()[-1] == "latest"
        assert "2009-04-04" in versions.splitlines()
        assert await text(client, "/latest/") == (200, "dynamic\nmeta-data\nuser-data")
        resp = await client.get("/latest/user-data")
        assert resp.status == 200 and await resp.read() == b"#!/bin/sh\necho hi\n"
        status, doc = await text(client, "/latest/dynamic/instance-identity/document")
        identity = json.loads(doc)
        assert status == 200 and identity["instanceId"] == "i-1a2b3c4d"
        assert identity["accountId"] == "123456789012" and identity["privateIp"] == "127.0.0.1"
        assert identity["availabilityZone"] == "eucalyptus-1a"
        assert identity["imageId"] == "emi-1a2b3c4d" and identity["region"] == "eucalyptus"
        assert (await client.post("/latest/meta-data/")).status == 405
    serve(store)(scenario)


def test_user_data_absent_is_404_and_unknown_sources_get_nothing(tmp_path):
    store = MetadataStore()
    store.put("i-00000001", "127.0.0.1", {"ami-id": "emi-00000001"})

    async def scenario(client):
        assert (await text(client, "/latest/user-data"))[0] == 404
        assert await text(client, "/latest/") == (200, "dynamic\nmeta-data")
        assert (await text(client, "/latest/meta-data/public-keys/"))[0] == 404
        store.delete("i-00000001")                 # 127.0.0.1 belongs to nobody now
        assert (await text(client, "/latest/meta-data/instance-id"))[0] == 404
        assert (await text(client, "/"))[0] == 404
        store.put("i-00000002", "10.77.0.9", {})   # another instance's record: not ours
        assert (await text(client, "/latest/meta-data/instance-id"))[0] == 404
        resp = await client.put("/latest/api/token", headers={TTL_HEADER: "60"})
        assert resp.status == 404
    serve(store)(scenario)


def test_imdsv2_token_rules(tmp_path):
    store = MetadataStore()
    store.put("i-00000001", "127.0.0.1", {"ami-id": "emi-00000001"})
    clock = Clock()

    async def scenario(client):
        for bad in (None, "", "0", "21601", "-5", "abc", "1.5"):
            headers = {} if bad is None else {TTL_HEADER: bad}
            resp = await client.put("/latest/api/token", headers=headers)
            assert resp.status == 400, bad
        resp = await client.put("/latest/api/token",
                                headers={TTL_HEADER: "60", "X-Forwarded-For": "1.2.3.4"})
        assert resp.status == 403
        assert (await client.get("/latest/api/token")).status == 405
        resp = await client.put("/latest/api/token", headers={TTL_HEADER: "21600"})
        assert resp.status == 200 and resp.headers[TTL_HEADER] == "21600"
        resp = await client.put("/latest/api/token", headers={TTL_HEADER: "60"})
        token = await resp.text()
        assert resp.status == 200 and resp.headers[TTL_HEADER] == "60"
        # with the token: answered, with the time it has left
        resp = await client.get("/latest/meta-data/instance-id", headers={TOKEN_HEADER: token})
        assert resp.status == 200 and await resp.text() == "i-00000001"
        assert resp.headers[TTL_HEADER] == "60"
        clock.now += 59
        resp = await client.get("/latest/meta-data/ami-id", headers={TOKEN_HEADER: token})
        assert resp.status == 200 and resp.headers[TTL_HEADER] == "1"
        # expired, tampered, foreign or empty tokens: 401
        clock.now += 1
        for bad in (token, token[:-1] + ("0" if token[-1] != "0" else "1"), "", "x.y",
                    TokenSigner(clock).issue("127.0.0.1", 600),
                    TokenSigner(clock, key=b"k" * 32).issue("127.0.0.1", 600)):
            resp = await client.get("/latest/meta-data/instance-id", headers={TOKEN_HEADER: bad})
            assert resp.status == 401, bad
        # IMDSv1 (no token header) still works by default
        assert await text(client, "/latest/meta-data/instance-id") == (200, "i-00000001")
        # ... but not when the instance requires tokens
        store.put("i-00000001", "127.0.0.1", {"http-tokens": "required"})
        assert (await text(client, "/latest/meta-data/instance-id"))[0] == 401
        resp = await client.put("/latest/api/token", headers={TTL_HEADER: "30"})
        fresh = await resp.text()
        assert await text(client, "/latest/meta-data/instance-id",
                          headers={TOKEN_HEADER: fresh}) == (200, "i-00000001")
    serve(store, clock)(scenario)


def test_a_token_is_bound_to_the_address_it_was_issued_to():
    signer = TokenSigner(Clock())
    token = signer.issue("10.77.0.2", 100)
    assert signer.remaining(token, "10.77.0.2") == 100
    assert signer.remaining(token, "10.77.0.3") is None


def test_store_validates_and_persists(tmp_path):
    store = MetadataStore(tmp_path / "md")
    store.put("i-00000001", "10.77.0.2", DOCUMENT)
    assert MetadataStore(tmp_path / "md").get("i-00000001").document == store.get(
        "i-00000001").document
    with pytest.raises(errors.InvalidParameterValue, match="registered to i-00000001"):
        store.put("i-00000002", "10.77.0.2", {})
    bad_documents = [{"nope": "x"}, {"instance-id": "i-2"}, {"ami-id": ["x"]},
                     {"security-groups": "default"}, {"placement": {"zone": "a"}},
                     {"public-keys": {"a/b": "k"}}, {"user-data": "***"},
                     {"http-tokens": "sometimes"}, {"public-keys": "k"}, [1, 2]]
    for bad in bad_documents:
        with pytest.raises(errors.ValidationError):
            store.put("i-00000003", "10.77.0.3", bad)
    for bad_ip in ("10.77.0", "::1", "x"):
        with pytest.raises(errors.InvalidParameterValue):
            store.put("i-00000003", bad_ip, {})
    with pytest.raises(errors.InvalidParameterValue):
        store.put("instance", "10.77.0.3", {})
    assert store.delete("i-00000001") and not store.delete("i-00000001")
    assert MetadataStore(tmp_path / "md").get("i-00000001") is None


def test_public_address_follows_the_current_mapping(tmp_path):
    """An elastic IP associated or moved after launch shows in public-ipv4 at once."""
    store = MetadataStore(tmp_path)
    store.put("i-1a2b3c4d", "127.0.0.1", {**DOCUMENT, "public-ipv4": "10.88.0.50"})
    mapped = {"i-1a2b3c4d": "10.88.0.77"}

    async def main():
        app = make_app(store, TokenSigner(Clock()), public_of=lambda iid: mapped.get(iid, ""))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            assert await text(client, "/latest/meta-data/public-ipv4") == (200, "10.88.0.77")
            assert await text(client, "/latest/meta-data/public-hostname") == (
                200, "euca-10-88-0-77")
            mapped.clear()
            status, _ = await text(client, "/latest/meta-data/public-ipv4")
            assert status in (200, 404)
            if status == 200:
                assert (await text(client, "/latest/meta-data/public-ipv4"))[1] == ""
    asyncio.run(main())
