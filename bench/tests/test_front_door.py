"""The whole command, end to end, on a tiny budget: servers start, answer 200, results land."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import front_door, peers


def _servers() -> str:
    if not (peers.BIN / "eucalyptus").exists():
        pytest.skip("the eucalyptus command is not installed in this environment")
    # moto is a peer for measuring, not a dependency: use it only if it is already there.
    return "ours,moto" if (peers.BIN / "moto_server").exists() else "ours"


def test_front_door_small_run(tmp_path: Path, capsys):
    servers = _servers()
    out = tmp_path / "latest.json"
    status = front_door.main(["--servers", servers, "--only", "DescribeRegions",
                              "GetCallerIdentity", "--requests", "30", "--seconds", "1",
                              "--warmup", "2", "--concurrency", "1,2", "--json", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    record = json.loads(out.read_text())
    assert record["machine"]["cpu_count"] == os.cpu_count()
    assert len(record["machine"]["loadavg"]) == 3
    assert {c["status"] for c in record["preflight"]} == {200}
    assert [(r["operation"], r["concurrency"]) for r in record["results"]] == [
        ("ec2 DescribeRegions", 1), ("ec2 DescribeRegions", 2),
        ("sts GetCallerIdentity", 1), ("sts GetCallerIdentity", 2)]
    for row in record["results"]:
        for name in servers.split(","):
            result = row[name]
            assert result["errors"] == 0 and result["ok"] == result["units"] > 0
            assert result["p50_ms"] > 0 and result["server_cpu_s"] >= 0
        if "moto" in servers:
            assert row["ratio"] > 0
    assert "ec2 DescribeRegions" in printed and "os.cpu_count()" in printed


def test_unknown_server_is_a_usage_error():
    with pytest.raises(SystemExit) as stop:
        front_door.main(["--servers", "nobody"])
    assert stop.value.code == 2
