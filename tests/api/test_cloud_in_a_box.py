"""`eucalyptus up` / `serve` / `init` as processes: start-up errors, supervision, shutdown."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import aiohttp

from eucalyptus.config import load_settings
from eucalyptus.rpc.client import RpcClient
from eucalyptus.rpc.messages import Health
from tests.cloud_fixture import admin_command, clean_environment, free_port_base


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _wait_gone(pids, timeout=15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_gone(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if not _gone(p)]


def run_admin(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(admin_command(*args), capture_output=True, text=True,
                          env=clean_environment(**(env or {})), timeout=timeout)


def test_sigterm_stops_every_component(cloud_factory):
    cloud = cloud_factory()
    pids = cloud.pids()
    assert set(pids) == {"clc", "walrus", "sc", "cc", "nc"}
    assert not any(_gone(p) for p in pids.values())
    assert cloud.stop() == 0
    assert _wait_gone(pids.values()) == []
    out = cloud.up_log.read_text()
    assert out.rstrip().endswith("eucalyptus up: stopped")
    assert not list((cloud.data_dir / "run").glob("*.pid"))


def test_sigint_stops_too_and_restart_reuses_the_data_dir(cloud_factory):
    cloud = cloud_factory()
    key = cloud.env["AWS_ACCESS_KEY_ID"]
    pids = cloud.pids()
    cloud.proc.send_signal(signal.SIGINT)
    assert cloud.proc.wait(30) == 0
    assert _wait_gone(pids.values()) == []
    again = cloud_factory(name=cloud.data_dir.name, port_base=cloud.port_base)
    assert "initialised" not in again.up_log.read_text()
    assert again.env["AWS_ACCESS_KEY_ID"] == key        # same admin, same database


def test_a_dying_component_stops_the_cloud(cloud_factory):
    cloud = cloud_factory()
    pids = cloud.pids()
    os.kill(pids["nc"], signal.SIGKILL)
    assert cloud.proc.wait(30) == 1
    assert _wait_gone(pids.values()) == []
    assert "nc exited with status -9" in cloud.up_log.read_text()


def test_nodes_can_be_deregistered_and_registered(cloud_factory):
    cloud = cloud_factory()
    node = f"127.0.0.1:{cloud.port_base + 2}"
    gone = cloud.admin("deregister-nodes", node)
    assert gone.returncode == 0, gone.stderr
    assert node not in cloud.admin("describe-nodes").stdout
    zones = cloud.client("ec2").describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["eucalyptus-1a"]
    back = cloud.admin("register-nodes", node)
    assert back.returncode == 0 and node in back.stdout and " up " in back.stdout
    assert f'NODES="{node}"' in (cloud.data_dir / "eucalyptus.conf").read_text()
    bad = cloud.admin("register-nodes", "host:port")
    assert bad.returncode == 1 and "bad node address" in bad.stderr


def test_unknown_config_key_stops_start_up(tmp_path):
    (tmp_path / "eucalyptus.conf").write_text('REGION="west"\nCLUSTER_SIZE="3"\n')
    result = run_admin("up", "--data-dir", str(tmp_path), "--port-base",
                       str(free_port_base()), timeout=30)
    assert result.returncode == 1
    assert "CLUSTER_SIZE" in result.stderr
    assert f"{tmp_path}/eucalyptus.conf:2" in result.stderr
    assert not (tmp_path / "keys").exists() and not (tmp_path / "log").exists()


def test_bad_config_value_stops_start_up(tmp_path):
    (tmp_path / "eucalyptus.conf").write_text('SCHEDPOLICY="FASTEST"\n')
    result = run_admin("up", "--data-dir", str(tmp_path), timeout=30)
    assert result.returncode == 1
    assert "SCHEDPOLICY" in result.stderr and "eucalyptus.conf:1" in result.stderr
    assert "GREEDY, ROUNDROBIN, POWERSAVE" in result.stderr
    env_bad = run_admin("init", "--data-dir", str(tmp_path / "other"),
                        env={"EUCA_CLC_PORT": "eighty"}, timeout=30)
    assert env_bad.returncode == 1
    assert "EUCA_CLC_PORT" in env_bad.stderr and "CLC_PORT" in env_bad.stderr


def test_commands_need_an_initialised_data_dir(tmp_path):
    result = run_admin("status", "--data-dir", str(tmp_path / "none"))
    assert result.returncode == 1 and "not initialised" in result.stderr


def test_init_is_idempotent(tmp_path):
    data = tmp_path / "data"
    first = run_admin("init", "--data-dir", str(data), "--port-base", "30000")
    assert first.returncode == 0, first.stderr
    eucarc = (data / "credentials" / "eucarc").read_text()
    pem = (data / "keys" / "clc.pem").read_bytes()
    assert "http://127.0.0.1:30000/services/compute" in eucarc
    second = run_admin("init", "--data-dir", str(data))
    assert second.returncode == 0, second.stderr
    assert (data / "keys" / "clc.pem").read_bytes() == pem
    assert (data / "credentials" / "eucarc").read_text() == eucarc
    for name in ("clc", "walrus", "sc", "cc", "nc", "admin"):
        assert (data / "keys" / f"{name}.pub").exists()


def test_serve_one_component_alone(tmp_path):
    data = tmp_path / "data"
    base = free_port_base()
    assert run_admin("init", "--data-dir", str(data), "--port-base", str(base)).returncode == 0
    settings = load_settings(data, env={})
    proc = subprocess.Popen(admin_command("serve", "walrus", "--data-dir", str(data)),
                            env=clean_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        async def probe():
            async with RpcClient.for_caller(data, "admin", settings.url("walrus")) as admin:
                for _ in range(200):
                    try:
                        return await admin.call("GET", "health", reply=Health)
                    except Exception:
                        await asyncio.sleep(0.1)
                raise AssertionError("walrus did not answer")

        async def unsigned():
            async with aiohttp.ClientSession() as http:
                async with http.get(settings.url("walrus") + "/internal/health") as resp:
                    return resp.status, await resp.json()

        health = asyncio.run(probe())
        assert health.component == "walrus" and health.status == "ok"
        assert health.pid == proc.pid
        status, body = asyncio.run(unsigned())
        assert status == 400 and body["error"]["code"] == "IncompleteSignature"
        # only walrus runs: status reports the rest as down and exits 1
        status_run = run_admin("status", "--data-dir", str(data))
        assert status_run.returncode == 1
        assert sum(" down " in line for line in status_run.stdout.splitlines()) == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0, output
    assert "walrus stopped" in output


def test_components_do_not_outlive_a_killed_supervisor(cloud_factory):
    cloud = cloud_factory()
    pids = cloud.pids()
    cloud.proc.kill()                                  # SIGKILL: no chance to clean up
    cloud.proc.wait(10)
    assert _wait_gone(pids.values()) == []
