"""The NBD export driver with real qemu-storage-daemon processes (unix socket and TCP)."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess

import pytest

from eucalyptus.drivers.export.base import Endpoint, ExportError
from eucalyptus.drivers.export.nbd import NbdExportDriver, _alive, daemon_argv
from tests.cloud_fixture import free_port_base

pytestmark = pytest.mark.skipif(shutil.which("qemu-storage-daemon") is None,
                                reason="qemu-storage-daemon is not installed")
MIB = 1 << 20


def qemu_io(uri: str, *commands: str) -> str:
    argv = ["qemu-io", "-f", "raw"]
    for c in commands:
        argv += ["-c", c]
    done = subprocess.run(argv + [uri], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "fail" not in done.stdout.lower(), done.stdout
    return done.stdout


def volume(path, size=16 * MIB):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_argv_is_data_and_quotes_nothing(tmp_path):
    argv = daemon_argv(tmp_path / "a,b.img", "raw", "vol-1", {"type": "unix", "path": "/s"},
                       tmp_path / "c.qmp", tmp_path / "p.pid")
    assert argv[0] == "qemu-storage-daemon" and "--daemonize" in argv
    blockdev = json.loads(argv[argv.index("--blockdev") + 1])
    assert blockdev["filename"] == str(tmp_path / "a,b.img")
    export = json.loads(argv[argv.index("--export") + 1])
    assert export == {"type": "nbd", "id": "export0", "node-name": "vol", "name": "vol-1",
                      "writable": True}


def test_unix_export_serves_writes_and_stops_by_pid(tmp_path):
    async def scenario():
        driver = NbdExportDriver(tmp_path / "run")
        image = volume(tmp_path / "vol-00000001.img")
        ep = await driver.open("vol-00000001", image, "raw")
        try:
            assert ep.socket and not ep.port and driver.running(ep)
            await asyncio.to_thread(qemu_io, ep.uri(), "write -P 0x5a 1M 1M")
            await asyncio.to_thread(qemu_io, ep.uri(), "read -P 0x5a 1M 1M", "read -P 0 0 1M")
            again = Endpoint.from_dict(json.loads(json.dumps(ep.to_dict())))
            assert driver.running(again)
        finally:
            await driver.close(ep)
        assert not _alive(ep.pid) and not driver.running(ep)
        assert not os.path.exists(ep.socket)
        assert list((tmp_path / "run").iterdir()) == []            # a quiet daemon's log too
        await driver.close(ep)                                     # idempotent
        with open(image, "rb") as f:
            f.seek(MIB)
            assert f.read(MIB) == b"\x5a" * MIB
    asyncio.run(scenario())


def test_backup_is_a_point_in_time_copy_while_serving(tmp_path):
    async def scenario():
        driver = NbdExportDriver(tmp_path / "run")
        ep = await driver.open("vol-00000002", volume(tmp_path / "v.img"), "raw")
        try:
            await asyncio.to_thread(qemu_io, ep.uri(), "write -P 0x11 0 2M")
            await driver.backup(ep, tmp_path / "copy.raw")
            await asyncio.to_thread(qemu_io, ep.uri(), "write -P 0x22 0 1M")
            assert driver.running(ep)
            with pytest.raises(ExportError):
                await driver.backup(ep, tmp_path / "copy.raw")     # never overwrites
        finally:
            await driver.close(ep)
        data = (tmp_path / "copy.raw").read_bytes()
        assert len(data) == 16 * MIB
        assert data[:2 * MIB] == b"\x11" * (2 * MIB) and data[2 * MIB:] == bytes(14 * MIB)
    asyncio.run(scenario())


def test_tcp_export_on_a_port_of_the_range(tmp_path):
    async def scenario():
        base = free_port_base(3)
        driver = NbdExportDriver(tmp_path / "run", "tcp", "127.0.0.1", range(base, base + 3))
        first = await driver.open("vol-00000003", volume(tmp_path / "a.img"), "raw")
        second = await driver.open("vol-00000004", volume(tmp_path / "b.img"), "raw")
        try:
            assert first.host == "127.0.0.1" and first.port in range(base, base + 3)
            assert second.port != first.port and not first.socket
            await asyncio.to_thread(qemu_io, first.uri(), "write -P 0x33 0 64k")
            await asyncio.to_thread(qemu_io, first.uri(), "read -P 0x33 0 64k")
        finally:
            await driver.close(first)
            await driver.close(second)
    asyncio.run(scenario())


def test_a_failed_open_leaves_nothing(tmp_path):
    async def scenario():
        driver = NbdExportDriver(tmp_path / "run")
        with pytest.raises(ExportError):
            await driver.open("vol-00000005", tmp_path / "missing.img", "raw")
        left = {p.suffix for p in (tmp_path / "run").iterdir()}
        assert left <= {".log"}
    asyncio.run(scenario())


def test_running_is_false_for_a_foreign_pid(tmp_path):
    driver = NbdExportDriver(tmp_path / "run")
    ep = Endpoint("vol-00000006", "vol-00000006", "/x", "raw", pid=os.getpid(),
                  control=str(tmp_path / "run" / "vol-00000006.qmp"))
    assert not driver.running(ep)
