"""The QMP client against a fake QMP server; the QEMU driver's hot-plug over it."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from eucalyptus.drivers.hypervisor.base import DiskAttachment, Handle, HypervisorError
from eucalyptus.drivers.hypervisor.qemu import QemuDriver
from eucalyptus.drivers.hypervisor.qmp import QmpClient, QmpCommandError, QmpError
from tests.fakes.qmp_server import FakeQmpServer, QmpFailure


def test_commands_errors_and_events(tmp_path):
    async def scenario():
        server = await FakeQmpServer(tmp_path / "q.sock", replies={
            "query-status": {"running": True, "status": "running"},
            "system_reset": {}, "blockdev-del": QmpFailure("GenericError", "in use")},
            events={"system_reset": [("RESET", {"guest": False})]}).start()
        try:
            async with await QmpClient.connect(tmp_path / "q.sock") as qmp:
                assert qmp.greeting["version"]["qemu"]["major"] == 7
                assert (await qmp.execute("query-status"))["running"] is True
                await qmp.execute("system_reset")
                assert (await qmp.wait_event("RESET", 2))["data"] == {"guest": False}
                with pytest.raises(QmpCommandError) as err:
                    await qmp.execute("blockdev-del", {"node-name": "x"})
                assert err.value.error_class == "GenericError"
                with pytest.raises(asyncio.TimeoutError):
                    await qmp.wait_event("SHUTDOWN", 0.2)
        finally:
            await server.stop()
        assert server.received[0] == ("qmp_capabilities", None)
        assert ("blockdev-del", {"node-name": "x"}) in server.received

    asyncio.run(scenario())


def test_long_socket_paths_and_unreachable_sockets(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)

    async def scenario():
        with pytest.raises(QmpError):
            await QmpClient.connect(deep / "none.sock", timeout=1)
        old = os.getcwd()
        os.chdir(deep)                  # bind relatively, as QEMU does in the instance dir
        try:
            server = await FakeQmpServer(Path("q.sock")).start()
        finally:
            os.chdir(old)
        try:
            assert len(str(deep / "q.sock")) > 108
            async with await QmpClient.connect(deep / "q.sock") as qmp:
                assert await qmp.execute("qmp_capabilities") == {}
        finally:
            await server.stop()
        silent = await FakeQmpServer(tmp_path / "s.sock", greet=False).start()
        with pytest.raises(QmpError, match="no QMP greeting"):
            await QmpClient.connect(tmp_path / "s.sock", timeout=0.3)
        await silent.stop()

    asyncio.run(scenario())


def test_driver_hotplug_messages_and_slots(tmp_path):
    """attach/detach speak blockdev-add + device_add / device_del, DEVICE_DELETED of the
    device itself (not its backend), blockdev-del; slots come from spec.json."""
    d = tmp_path / "i-12345678"
    d.mkdir()
    (d / "spec.json").write_text('{"hotplug_slots": 1}')
    handle = Handle("i-12345678", d, os.getpid())
    driver = QemuDriver()

    async def scenario():
        server = await FakeQmpServer(d / "qmp.sock", replies={
            "blockdev-add": {}, "device_add": {}, "device_del": {}, "blockdev-del": {}},
            events={"device_del": [("DEVICE_DELETED", {"path": "/x/virtio-backend"}),
                                   ("DEVICE_DELETED", {"device": "dev-vol-1", "path": "/x"})]}
        ).start()
        import eucalyptus.drivers.hypervisor.qemu as qemu_mod
        alive = qemu_mod.process_alive
        qemu_mod.process_alive = lambda pid, d: True
        try:
            disk = DiskAttachment("vol-1", path=tmp_path / "v.raw")
            await driver.attach_disk(handle, disk)
            with pytest.raises(HypervisorError, match="already attached"):
                await driver.attach_disk(handle, disk)
            with pytest.raises(HypervisorError, match="no free hot-plug slot"):
                await driver.attach_disk(handle, DiskAttachment("vol-2", path=tmp_path / "w"))
            await driver.detach_disk(handle, "vol-1", timeout=2)
            with pytest.raises(HypervisorError, match="not attached"):
                await driver.detach_disk(handle, "vol-1")
        finally:
            qemu_mod.process_alive = alive
            await server.stop()
        names = [c for c, _a in server.received if c != "qmp_capabilities"]
        assert names == ["blockdev-add", "device_add", "device_del", "blockdev-del"]
        assert server.received[2][1]["bus"] == "hp1"

    asyncio.run(scenario())
