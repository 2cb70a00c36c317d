"""The cluster's node table: registration and enabled state kept across restarts, polling,
and the scheduler leaving disabled nodes alone."""
import asyncio

import pytest

from eucalyptus.cc import scheduler
from eucalyptus.cc.nodes import NodeTable
from eucalyptus.errors import ServiceError
from eucalyptus.rpc.messages import NodeResources


def resources(**kw):
    base = dict(host="h", cores_total=4, cores_free=4, memory_total_mib=4096, memory_free_mib=4096,
                disk_total_gib=100, disk_free_gib=100, instances=0)
    base.update(kw)
    return NodeResources(**{k: v for k, v in base.items()
                            if k in NodeResources.__dataclass_fields__})


async def answer(address):
    if address.startswith("dead"):
        raise ServiceError("Unavailable", "no answer")
    return resources()


def test_register_disable_persist_and_reload(tmp_path):
    state = tmp_path / "cc" / "nodes.json"
    table = NodeTable(answer, 8775, state)
    assert table.register(["10.0.0.1", "10.0.0.2:9000"]) == ["10.0.0.1:8775", "10.0.0.2:9000"]
    assert table.set_enabled(["10.0.0.1"], False) == ["10.0.0.1:8775"]
    with pytest.raises(ServiceError) as err:
        table.set_enabled(["10.9.9.9"], False)
    assert err.value.code == "InvalidNode.NotFound"
    again = NodeTable(answer, 8775, state)            # a restarted cluster controller
    assert {n.address: n.enabled for n in again.snapshot()} == {
        "10.0.0.1:8775": False, "10.0.0.2:9000": True}
    again.set_enabled(["10.0.0.1:8775"], True)
    again.deregister(["10.0.0.2:9000"])
    third = NodeTable(answer, 8775, state)
    assert [(n.address, n.enabled) for n in third.snapshot()] == [("10.0.0.1:8775", True)]


def test_unreadable_state_is_ignored(tmp_path):
    state = tmp_path / "nodes.json"
    state.write_text("{not json")
    assert NodeTable(answer, 8775, state).snapshot() == []


def test_poll_marks_up_and_down_and_keeps_admin_state(tmp_path):
    table = NodeTable(answer, 8775, tmp_path / "n.json")
    table.register(["10.0.0.1", "dead.host"])
    table.set_enabled(["10.0.0.1"], False)
    asyncio.run(table.poll())
    states = {n.address: (n.state, n.enabled) for n in table.snapshot()}
    assert states == {"10.0.0.1:8775": ("up", False), "dead.host:8775": ("down", True)}


def test_scheduler_places_nothing_on_disabled_nodes():
    size = scheduler.Size(1, 256, 1)
    full = scheduler.Size(4, 4096, 100)
    nodes = [scheduler.Candidate("a:1", full, full, enabled=False),
             scheduler.Candidate("b:1", scheduler.Size(1, 4096, 100), full)]
    for name in ("GREEDY", "ROUNDROBIN", "POWERSAVE"):
        assert scheduler.place(scheduler.policy(name), nodes, size, 3) == ["b:1"]
    nodes[0].enabled = True
    assert scheduler.place(scheduler.policy("GREEDY"), nodes, size, 2) == ["a:1", "a:1"]
