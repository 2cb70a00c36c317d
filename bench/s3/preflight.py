"""Before measuring: make the benchmark's buckets and check each server does S3 at all.

``create_bucket`` sends CreateBucket without a body and, if the server wants a location, again
with the server's region as LocationConstraint. ``check(server, bucket)`` then puts a small
object, reads it back byte for byte, lists the bucket and decodes that answer with botocore's
own parser (so a listing our regular expressions would misread shows up here), and deletes the
object; it returns a list of lines describing each step and raises ``NotServing`` at the first
step that fails.
"""
from __future__ import annotations

import secrets

import aiohttp
from botocore.parsers import create_parser

from bench.driver import describe_failure
from bench.peers import Server
from bench.s3.signing import S3Call, sign
from bench.workload import service_model


class NotServing(Exception):
    """The server did not answer an S3 request as S3 would."""


def bucket_name(purpose: str) -> str:
    return f"bench-{purpose}-{secrets.token_hex(4)}"


def location_body(region: str) -> bytes:
    return ('<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<LocationConstraint>{region}</LocationConstraint>"
            "</CreateBucketConfiguration>").encode()


async def send(session: aiohttp.ClientSession, call: S3Call) -> tuple[int, dict, bytes]:
    async with session.request(call.method, call.url, data=call.body or None,
                               headers=call.headers) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def create_bucket(session: aiohttp.ClientSession, server: Server, name: str) -> str:
    """Create bucket ``name``; how it was done, or NotServing."""
    status, _, body = await send(session, sign(server, "CreateBucket", "PUT", name))
    if status == 200:
        return f"CreateBucket {name}: 200"
    first = describe_failure(sign(server, "CreateBucket", "PUT", name), status, body)
    call = sign(server, "CreateBucket", "PUT", name, body=location_body(server.region))
    status, _, body = await send(session, call)
    if status != 200:
        raise NotServing(f"{first}; with LocationConstraint={server.region}: "
                         f"{describe_failure(call, status, body)}")
    return f"CreateBucket {name} (LocationConstraint {server.region}): 200"


def parse_listing(headers: dict, body: bytes) -> dict:
    model = service_model("s3")
    shape = model.operation_model("ListObjectsV2").output_shape
    return create_parser(model.protocol).parse(
        {"status_code": 200, "headers": headers, "body": body}, shape)


async def check(server: Server, buckets: list[str]) -> list[str]:
    """Create ``buckets`` and prove the first one stores and returns an object."""
    lines = []
    payload = secrets.token_bytes(4096)
    key = f"preflight/{secrets.token_hex(4)}"
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        for name in buckets:
            lines.append(await create_bucket(session, server, name))
        bucket = buckets[0]
        steps = [("PutObject", "PUT", key, payload, ""), ("GetObject", "GET", key, b"", ""),
                 ("ListObjectsV2", "GET", "", b"", "list-type=2&max-keys=10"),
                 ("DeleteObject", "DELETE", key, b"", "")]
        for action, method, name, body, query in steps:
            call = sign(server, action, method, bucket, name, body=body, query=query)
            status, headers, answer = await send(session, call)
            if status not in (200, 204):
                raise NotServing(describe_failure(call, status, answer))
            if action == "GetObject" and answer != payload:
                raise NotServing(f"GetObject returned {len(answer)} bytes that differ from "
                                 "what was put")
            if action == "ListObjectsV2":
                listed = [item["Key"] for item in parse_listing(headers, answer).get(
                    "Contents", [])]
                if key not in listed:
                    raise NotServing(f"ListObjectsV2 does not show {key}: {listed[:3]}")
            lines.append(f"{action}: {status}")
    return lines
