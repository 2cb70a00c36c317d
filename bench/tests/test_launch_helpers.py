"""The launch benchmark's helpers: summaries, ratios, answer parsing, argv and the big-host
stand-in, without starting any server."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.launch import api, boot
from bench.launch.command import parse_args
from bench.launch.timing import Sample, fmt_ratio, percentile, ratio, summary, table_rows


def test_percentile_and_summary():
    assert percentile([], 0.9) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    s = Sample("x", walls=[0.1, 0.3, 0.2], server_cpu=0.3, errors=1)
    got = summary(s)
    assert got["n"] == 3 and got["median"] == 0.2 and got["errors"] == 1
    assert got["cpu"] == pytest.approx(0.1) and got["mean"] == pytest.approx(0.2)
    assert summary(Sample("empty"))["median"] == 0.0


def test_ratios_and_rows():
    assert ratio(1.0, 4.0) == 0.25 and ratio(1.0, 0.0) is None
    assert fmt_ratio(None) == "-" and fmt_ratio(1.234) == "1.23"
    ours = Sample("d", walls=[0.01, 0.01], server_cpu=0.01)
    peer = Sample("d", walls=[0.04, 0.04], server_cpu=0.08)
    (row,) = table_rows([("d", ours, peer)])
    assert row["wall_ratio"] == pytest.approx(0.25)
    assert row["cpu_ratio"] == pytest.approx(0.125)
    (lone,) = table_rows([("d", ours, None)])
    assert lone["peer"] is None and lone["wall_ratio"] is None


def test_instance_ids_of_both_answers():
    assert api.instance_ids({"Instances": [{"InstanceId": "i-1"}]}) == ["i-1"]
    described = {"Reservations": [{"Instances": [{"InstanceId": "i-1"}]},
                                  {"Instances": [{"InstanceId": "i-2"}, {"InstanceId": "i-3"}]}]}
    assert api.instance_ids(described) == ["i-1", "i-2", "i-3"]
    assert api.instance_ids({"Error": {"Code": "x"}}) == []


def test_node_env_fits_the_population():
    env = api.node_env(1000)
    cores, memory, disk = (int(x) for x in env["BENCH_FAKE_HOST"].split(","))
    assert cores >= 1000 and memory >= 1000 * 256 and disk >= 1000 * 5
    assert env["EUCA_NC_DRIVER"].endswith(":FakeDriver")
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(api.BIG_HOST)
    assert api.run_params("emi-1", 3) == {"ImageId": "emi-1", "MinCount": "3",
                                          "MaxCount": "3", "InstanceType": "t1.micro"}


def _probe(figures: str | None) -> list[int]:
    env = {k: v for k, v in os.environ.items() if k != "BENCH_FAKE_HOST"}
    env["PYTHONPATH"] = os.pathsep.join((str(api.BIG_HOST), str(api.REPO)))
    if figures is not None:
        env["BENCH_FAKE_HOST"] = figures
    code = ("from eucalyptus.nc import resources as r; from pathlib import Path; "
            "print(r.host_cores(), r.host_memory_mib(), r.host_disk_gib(Path('/')))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    return [int(x) for x in out.stdout.split()]


def test_big_host_replaces_only_the_figures_given():
    real = _probe(None)
    assert _probe("1200,307200,6000") == [1200, 307200, 6000]
    assert _probe("16,,") == [16, real[1], real[2]]


def test_ssh_argv_and_arguments():
    argv = boot.ssh_argv("euca-1234", boot.Path("/k"), "10.77.0.2")
    assert argv[:5] == ["ip", "netns", "exec", "euca-1234", "ssh"]
    assert "root@10.77.0.2" in argv and "BatchMode=yes" in argv
    args = parse_args(["--population", "10", "--skip-boot"])
    assert args.population == 10 and args.skip_boot and not args.skip_api
    assert parse_args([]).counts == "1,4"
