"""Instance-API latency with many instances on record: ours (FakeDriver node) next to moto.

Our cloud runs with the hypervisor double of tests/fakes (it boots nothing) and a node big
enough for ``population`` t1.micro instances; moto's server gets the same population through
one RunInstances. Then, interleaving the two servers, each call is sent ``repeats`` times by
a light client (requests signed with botocore's SigV4Auth before the clock starts, sent with
aiohttp): DescribeInstances of everything, and RunInstances of one instance (each launched
instance is terminated afterwards, untimed). Server CPU is the /proc CPU of each server's
process tree over the timed calls.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import aiohttp

from bench import peers, procstat
from bench.launch.timing import Sample
from bench.workload import parse, sign

LISTED: dict[str, int] = {}      # instances in each server's DescribeInstances answer

FAKE_ENV = {"EUCA_NC_DRIVER": "tests.fakes.hypervisor:FakeDriver",
            "EUCA_NC_POLLING_FREQUENCY": "2", "EUCA_STARTER_IMAGE": "no"}


BIG_HOST = Path(__file__).resolve().parent / "bighost"
REPO = BIG_HOST.parent.parent.parent


def node_env(population: int) -> dict[str, str]:
    """Settings of a fake node that fits ``population`` t1.micro (1 core, 256 MiB, 5 GiB)
    plus headroom for the timed launches. MAX_* only cap the real host, so the node's host
    probes are replaced for the benchmark (see bench/launch/bighost/sitecustomize.py)."""
    room = population + 200
    return {**FAKE_ENV, "BENCH_FAKE_HOST": f"{room},{room * 256},{room * 5}",
            "PYTHONPATH": os.pathsep.join((str(BIG_HOST), str(REPO)))}


def as_server(cloud) -> peers.Server:
    """Our test cloud described as a bench Server (endpoints and admin keys)."""
    env = cloud.env
    return peers.Server("ours", {"ec2": cloud.endpoint("ec2")}, env["AWS_DEFAULT_REGION"],
                        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], cloud.proc,
                        cloud.up_log)


async def _send(session: aiohttp.ClientSession, server: peers.Server, action: str,
                params: dict[str, str]) -> tuple[float, dict]:
    call = sign(server, "ec2", action, params)
    start = time.perf_counter()
    async with session.post(call.url, data=call.body, headers=call.headers) as resp:
        body = await resp.read()
        status, headers = resp.status, dict(resp.headers)
    wall = time.perf_counter() - start
    return wall, parse("ec2", action, status, headers, body) if status < 300 else \
        {"Error": {"Code": str(status), "Message": body[:300].decode(errors="replace")}}


def instance_ids(parsed: dict) -> list[str]:
    """Instance ids of a RunInstances or DescribeInstances answer."""
    if "Instances" in parsed:
        return [i["InstanceId"] for i in parsed["Instances"]]
    return [i["InstanceId"] for r in parsed.get("Reservations", []) for i in r["Instances"]]


def run_params(image: str, count: int) -> dict[str, str]:
    return {"ImageId": image, "MinCount": str(count), "MaxCount": str(count),
            "InstanceType": "t1.micro"}


async def populate(server: peers.Server, image: str, population: int, batch: int = 250,
                   timeout: float = 120.0) -> None:
    """Launch ``population`` instances in batches and wait until DescribeInstances lists
    that many running ones."""
    async with aiohttp.ClientSession() as session:
        left = population
        while left > 0:
            n = min(batch, left)
            _, parsed = await _send(session, server, "RunInstances", run_params(image, n))
            if "Error" in parsed:
                raise RuntimeError(f"{server.name} RunInstances: {parsed['Error']}")
            left -= n
        deadline = time.monotonic() + timeout
        while True:
            _, parsed = await _send(session, server, "DescribeInstances", {
                "Filter.1.Name": "instance-state-name", "Filter.1.Value.1": "running"})
            running = len(instance_ids(parsed))
            if running >= population:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name}: {running}/{population} running "
                                   f"after {timeout:.0f} s")
            await asyncio.sleep(1.0)


async def measure(servers: list[peers.Server], images: dict[str, str], repeats: int
                  ) -> dict[str, dict[str, Sample]]:
    """``{label: {server name: Sample}}`` for DescribeInstances and RunInstances."""
    out: dict[str, dict[str, Sample]] = {"DescribeInstances": {}, "RunInstances": {}}
    launched: dict[str, list[str]] = {s.name: [] for s in servers}
    listed = LISTED
    async with aiohttp.ClientSession() as session:
        for server in servers:                         # one untimed warm-up of each call
            _, parsed = await _send(session, server, "DescribeInstances", {})
            listed[server.name] = len(instance_ids(parsed))
        for label in out:
            for server in servers:
                out[label][server.name] = Sample(label)
            for _ in range(repeats):
                for server in servers:                 # interleaved: drift hits both
                    sample = out[label][server.name]
                    params = ({} if label == "DescribeInstances"
                              else run_params(images[server.name], 1))
                    cpu0 = procstat.tree_cpu_seconds(server.pid)
                    wall, parsed = await _send(session, server, label, params)
                    sample.server_cpu += procstat.tree_cpu_seconds(server.pid) - cpu0
                    if "Error" in parsed:
                        sample.errors += 1
                        continue
                    sample.walls.append(wall)
                    if label == "RunInstances":
                        launched[server.name] += instance_ids(parsed)
        for server in servers:
            ids = launched[server.name]
            if ids:
                params = {f"InstanceId.{i + 1}": iid for i, iid in enumerate(ids)}
                await _send(session, server, "TerminateInstances", params)
    return out


def moto_image(server: peers.Server) -> str:
    """An image id moto knows (its built-in catalogue)."""
    async def first() -> str:
        async with aiohttp.ClientSession() as session:
            _, parsed = await _send(session, server, "DescribeImages", {"Owner.1": "amazon"})
            return parsed["Images"][0]["ImageId"]
    return asyncio.run(first())


def our_image(cloud, work: Path) -> str:
    """A small machine image (with kernel and ramdisk) bundled, uploaded and registered."""
    from tests.api.test_instances import register_bundles
    return register_bundles(cloud, work, f"bench-{uuid.uuid4().hex[:6]}")["machine"]


def run(population: int, repeats: int, work: Path, say=print) -> dict:
    """Start both servers, populate, measure, stop; the samples and the server settings."""
    from tests.cloud_fixture import Cloud
    say(f"api: starting our cloud (FakeDriver node for {population} instances) and moto")
    cloud = Cloud.start(work / "data", node_env(population), timeout=120)
    moto = None
    try:
        moto = peers.start_moto(say=say)
        done = cloud.admin("properties", f"cloud.compute.max_instances={population + 200}")
        if done.returncode != 0:
            raise RuntimeError(f"setting the instance limit: {done.stderr or done.stdout}")
        ours = as_server(cloud)
        images = {"ours": our_image(cloud, work), "moto": moto_image(moto)}
        t0 = time.monotonic()
        asyncio.run(populate(ours, images["ours"], population))
        asyncio.run(populate(moto, images["moto"], population))
        say(f"api: {population} instances running on each server "
            f"({time.monotonic() - t0:.0f} s); measuring {repeats} calls of each")
        samples = asyncio.run(measure([ours, moto], images, repeats))
        return {"samples": samples, "population": population, "repeats": repeats,
                "listed": dict(LISTED)}
    finally:
        if moto is not None:
            moto.stop()
        cloud.stop()

