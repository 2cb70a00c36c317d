"""The node's instance manager and state machine, on the hypervisor double."""
from __future__ import annotations

import asyncio
import base64

import pytest

from eucalyptus import errors
from eucalyptus.nc import states
from eucalyptus.nc.instances import InstanceManager
from eucalyptus.nc.messages import InstanceInfo, RunInstance
from eucalyptus.nc.resources import Capacity
from tests.fakes.hypervisor import FakeDriver


@pytest.fixture
def kernel(tmp_path):
    k = tmp_path / "vmlinux"
    k.write_bytes(b"\x7fELF")
    return str(k)


def _manager(tmp_path, driver=None, cores=2):
    return InstanceManager(tmp_path / "instances", driver or FakeDriver(),
                           Capacity(cores=cores, memory_mib=1024, disk_gib=10))


def test_transitions_table():
    rec = InstanceInfo("i-12345678", states.PENDING)
    states.advance(rec, states.RUNNING)
    with pytest.raises(states.IncorrectInstanceState):
        states.advance(rec, states.PENDING)
    states.advance(rec, states.STOPPED, states.GUEST_SHUTDOWN)
    assert rec.reason == states.GUEST_SHUTDOWN and rec.changed_at > 0
    states.advance(rec, states.SHUTTING_DOWN)
    states.advance(rec, states.TERMINATED)
    with pytest.raises(states.IncorrectInstanceState):
        states.advance(rec, states.RUNNING)


def test_run_capacity_terminate_and_console(tmp_path, kernel):
    async def scenario():
        m = _manager(tmp_path)
        one = await m.run(RunInstance("i-00000001", vcpus=2, memory_mib=256, kernel=kernel))
        assert one.state == "running" and (tmp_path / "instances/i-00000001/spec.json").exists()
        assert await m.run(RunInstance("i-00000001", vcpus=2, kernel=kernel)) is one
        with pytest.raises(errors.ServiceError) as err:
            await m.run(RunInstance("i-00000002", vcpus=1, kernel=kernel))
        assert err.value.code == "InsufficientInstanceCapacity" and "cores" in err.value.message
        out = base64.b64decode(m.console("i-00000001").output)
        assert b"fake guest i-00000001 booted" in out
        await m.reboot("i-00000001")
        gone = await m.terminate("i-00000001")
        assert gone.state == "terminated" and gone.reason.startswith("Client.UserInitiated")
        assert not (tmp_path / "instances/i-00000001").exists()
        assert await m.terminate("i-00000001") is gone            # idempotent
        with pytest.raises(states.IncorrectInstanceState):
            await m.reboot("i-00000001")
        assert m.usage() == []
        await m.run(RunInstance("i-00000002", vcpus=2, kernel=kernel))   # room again
        with pytest.raises(errors.NotFound) as nf:
            await m.terminate("i-0000dead")
        assert nf.value.code == "InvalidInstanceID.NotFound"

    asyncio.run(scenario())


def test_bad_requests_and_failed_launch_leave_nothing(tmp_path, kernel):
    async def scenario():
        driver = FakeDriver()
        m = _manager(tmp_path, driver)
        for bad in (RunInstance("x-1", kernel=kernel), RunInstance("i-00000003"),
                    RunInstance("i-00000003", kernel=str(tmp_path / "missing")),
                    RunInstance("i-00000003", kernel=kernel, vcpus=0)):
            with pytest.raises(errors.InvalidParameterValue):
                await m.run(bad)
        driver.fail_next_spawn = "no such accelerator"
        with pytest.raises(errors.InternalError, match="no such accelerator"):
            await m.run(RunInstance("i-00000003", kernel=kernel))
        (rec,) = m.describe()
        assert rec.state == "terminated" and "no such accelerator" in rec.reason
        assert not (tmp_path / "instances/i-00000003").exists() and m.usage() == []

    asyncio.run(scenario())


def test_power_off_is_noticed_and_restart_recovers(tmp_path, kernel):
    async def scenario():
        driver = FakeDriver()
        m = _manager(tmp_path, driver)
        for iid in ("i-0000000a", "i-0000000b"):
            await m.run(RunInstance(iid, vcpus=1, kernel=kernel, reservation_id="r-1"))
        await driver.powerdown(m.handles["i-0000000a"])
        await m.check()
        a = m.get("i-0000000a")
        assert a.state == "stopped" and a.reason == states.GUEST_SHUTDOWN
        # a new manager (the node restarted) sees the same thing from the directories
        again = _manager(tmp_path, FakeDriver())
        await again.recover()
        assert {r.instance_id: r.state for r in again.describe()} == {
            "i-0000000a": "stopped", "i-0000000b": "running"}
        assert again.get("i-0000000b").reservation_id == "r-1"
        assert "i-0000000b" in again.handles
        await again.terminate("i-0000000a")
        again.keep_terminated = 0
        await again.check()
        assert [r.instance_id for r in again.describe()] == ["i-0000000b"]

    asyncio.run(scenario())
