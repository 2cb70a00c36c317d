"""Components talking over signed HTTP in one event loop: NC reports, CC soft state, CLC."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from eucalyptus import errors
from eucalyptus.cc.component import ClusterController
from eucalyptus.cc.nodes import NodeTable, normalise_address
from eucalyptus.clc.component import CloudController
from eucalyptus.config import load_settings, ports_from_base
from eucalyptus.nc import resources
from eucalyptus.nc.component import NodeController
from eucalyptus.rpc import keys
from eucalyptus.rpc.client import RpcClient
from eucalyptus.rpc.messages import (NodeResources, PropertyList, PropertyQuery,
                                     PropertyUpdate)
from tests.cloud_fixture import free_port_base


def test_report_subtracts_instances_and_never_goes_negative():
    cap = resources.Capacity(cores=4, memory_mib=4096, disk_gib=100)
    r = resources.report("h:1", cap, [resources.Usage(1, 1024, 10),
                                      resources.Usage(2, 512, 5)], "tcg")
    assert (r.cores_free, r.memory_free_mib, r.disk_free_gib, r.instances) == (1, 2560, 85, 2)
    full = resources.report("h:1", cap, [resources.Usage(8, 8192, 200)])
    assert (full.cores_free, full.memory_free_mib, full.disk_free_gib) == (0, 0, 0)


def test_capacity_is_real_host_values_capped_by_settings(tmp_path):
    real = resources.host_capacity(load_settings(tmp_path, env={}))
    assert real.cores >= 1 and real.memory_mib > 64 and real.disk_gib >= 1
    capped = resources.host_capacity(load_settings(
        tmp_path, env={"EUCA_MAX_CORES": "1", "EUCA_MAX_MEM": "100", "EUCA_MAX_DISK": "2"}))
    assert (capped.cores, capped.memory_mib, capped.disk_gib) == (1, 100, min(2, real.disk_gib))
    generous = resources.host_capacity(load_settings(tmp_path, env={"EUCA_MAX_CORES": "9999"}))
    assert generous.cores == real.cores


def test_node_table_soft_state():
    answers: dict[str, object] = {}

    async def poller(address):
        answer = answers[address]
        if isinstance(answer, Exception):
            raise answer
        return answer

    table = NodeTable(poller, default_port=8775)
    assert table.register(["10.0.0.1", "10.0.0.1:8775", "10.0.0.2:9000"]) == [
        "10.0.0.1:8775", "10.0.0.2:9000"]
    good = NodeResources("10.0.0.1:8775", 2, 2, 100, 100, 5, 5)
    answers.update({"10.0.0.1:8775": good,
                    "10.0.0.2:9000": errors.ServiceUnavailable("connection refused")})
    asyncio.run(table.poll())
    one, two = table.snapshot()
    assert one.state == "up" and one.resources == good and one.last_seen > 0
    assert two.state == "down" and "refused" in two.error and two.resources is None
    answers["10.0.0.1:8775"] = errors.ServiceUnavailable("gone")
    asyncio.run(table.poll())
    assert table.snapshot()[0].state == "down" and table.snapshot()[0].resources is None
    assert table.deregister(["10.0.0.2:9000", "10.9.9.9"]) == ["10.0.0.2:9000"]
    with pytest.raises(errors.InvalidParameterValue):
        normalise_address("host:port", 8775)
    with pytest.raises(errors.InvalidParameterValue):
        table.register([":8775"])


@pytest.fixture
def datadir(tmp_path):
    for name in keys.PRINCIPALS:
        keys.make_key(tmp_path, name)
    return tmp_path


async def _serve(component) -> web.AppRunner:
    runner = web.AppRunner(component.make_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", component.settings.port(component.name)).start()
    return runner


def test_clc_sees_the_node_through_the_cluster(datadir):
    base = free_port_base()
    settings = load_settings(datadir, env={"EUCA_MAX_CORES": "1"},
                             overrides={**ports_from_base(base),
                                        "NODES": f"127.0.0.1:{base + 2}",
                                        "NC_POLLING_FREQUENCY": "1"})

    async def scenario():
        nc, cc = NodeController(settings), ClusterController(settings)
        clc = CloudController(settings)
        runners = [await _serve(c) for c in (nc, cc, clc)]
        try:
            for _ in range(50):
                zones = await clc.cluster_resources()
                if zones[0]["nodes"]:
                    break
                await asyncio.sleep(0.1)
            (zone,) = zones
            assert zone["zone"] == "eucalyptus-1a" and zone["state"] == "available"
            assert zone["cc_url"] == f"http://127.0.0.1:{base + 1}"
            (node,) = zone["nodes"]
            assert node["host"] == f"127.0.0.1:{base + 2}"
            assert node["cores_total"] == 1 and node["cores_free"] == 1
            assert node["memory_free_mib"] == node["memory_total_mib"] > 0
            assert node["disk_free_gib"] == node["disk_total_gib"] > 0
            # the cluster controller goes away: the zone is unavailable, no error
            await runners[1].cleanup()
            (gone,) = await clc.cluster_resources()
            assert gone["state"] == "unavailable" and gone["nodes"] == []
        finally:
            for r in (runners[0], runners[2]):
                await r.cleanup()
    asyncio.run(scenario())


def test_clc_cloud_properties_over_rpc(datadir):
    settings = load_settings(datadir, env={"EUCA_REGION": "west"},
                             overrides=ports_from_base(free_port_base()))

    async def scenario():
        clc = CloudController(settings)
        runner = await _serve(clc)
        try:
            async with RpcClient.for_caller(datadir, "admin", settings.url("clc")) as admin, \
                    RpcClient.for_caller(datadir, "cc", settings.url("clc")) as cc:
                everything = await admin.call("POST", "properties", PropertyQuery(),
                                              reply=PropertyList)
                values = {p.name: p.value for p in everything.properties}
                assert values["cloud.vmstate.instance_timeout"] == "720"
                assert values["region.region_name"] == "west"      # default from REGION
                assert "cloud.network.max_elastic_ips" in values
                changed = await admin.call(
                    "POST", "properties/set",
                    PropertyUpdate({"cloud.vmstate.terminated_time": "5"}), reply=PropertyList)
                assert [(p.name, p.value) for p in changed.properties] == [
                    ("cloud.vmstate.terminated_time", "5")]
                with pytest.raises(errors.InvalidParameterValue, match="unknown property"):
                    await admin.call("POST", "properties", PropertyQuery(["nope"]))
                # one bad value: nothing is written
                with pytest.raises(errors.InvalidParameterValue, match="must be an integer"):
                    await admin.call("POST", "properties/set", PropertyUpdate(
                        {"cloud.vmstate.terminated_time": "7",
                         "cloud.vmstate.instance_timeout": "soon"}))
                again = await admin.call("POST", "properties",
                                         PropertyQuery(["cloud.vmstate.terminated_time"]),
                                         reply=PropertyList)
                assert again.properties[0].value == "5"
                with pytest.raises(errors.AccessDenied):
                    await cc.call("POST", "properties", PropertyQuery())
        finally:
            await runner.cleanup()
    asyncio.run(scenario())
