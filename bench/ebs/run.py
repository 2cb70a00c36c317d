"""``python -m bench.ebs``: snapshot and restore throughput for a volume full of real data.

1. Starts a cloud-in-a-box (``eucalyptus up``, no starter image) in a temporary directory.
2. Creates a volume of ``--gib`` GiB (1 by default) on the storage controller, exports it
   over NBD and fills every byte with random (incompressible, never zero) data through the
   export with ``qemu-img convert -n``, so nothing is skipped as a hole.
3. Snapshot: the time from ``sc/snapshots/create`` to "completed" (point-in-time copy through
   the export + chunked upload to Walrus, digests included).
4. Restore: the time from ``sc/volumes/create`` with the snapshot to "available" (download,
   digest checks, write, hand-over to the driver), then checks the restored volume is
   byte-identical to the data written (``qemu-img compare`` over NBD).
5. Measures the disk ceiling with dd (direct I/O write and read of the same size) and prints
   MB/s (10^6 bytes/s) of each, the CPU seconds the SC and Walrus spent, the cores and the
   load average. Results go to bench/results/ebs-latest.json too.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ebs.ceiling import disk_ceiling
from bench.procstat import tree_cpu_seconds

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results" / "ebs-latest.json"


def _cloud(root: Path):
    sys.path.insert(0, str(REPO))
    from tests.cloud_fixture import Cloud
    return Cloud.start(root / "data", {"EUCA_STARTER_IMAGE": "no"}, timeout=120)


async def _wait(sc, route: str, message, reply, field: str, busy: str, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        found = getattr(await sc.call("POST", route, message, reply=reply), field)[0]
        if found.state != busy:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{route}: still {busy} after {timeout:.0f} s")
        await asyncio.sleep(0.05)


async def measure(cloud, gib: int, work: Path, say) -> dict:
    from eucalyptus.rpc.client import RpcClient
    from eucalyptus.sc import messages as m
    size = gib << 30
    source = work / "random.img"
    say(f"writing {gib} GiB of random data to {source} ...")
    with open(source, "wb") as f:
        for _ in range(size // (8 << 20)):
            f.write(os.urandom(8 << 20))
    pids = cloud.pids()
    cpu = lambda: {n: tree_cpu_seconds(pids[n]) for n in ("sc", "walrus")}  # noqa: E731
    async with RpcClient.for_caller(cloud.data_dir, "admin", cloud.urls["sc"], 600) as sc:
        try:
            await sc.call("POST", "sc/volumes/create", m.VolumeCreate("vol-0000be01", gib))
            ex = await sc.call("POST", "sc/volumes/export",
                               m.VolumeExportRequest("vol-0000be01", "i-0000be01"),
                               reply=m.VolumeExport)
            uri = f"nbd+unix:///{ex.export_name}?socket={ex.nbd_socket}"
            subprocess.run(["qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", str(source),
                            uri], check=True)
            say("snapshot ...")
            before, began = cpu(), time.monotonic()
            await sc.call("POST", "sc/snapshots/create",
                          m.SnapshotCreate("snap-0000be01", "vol-0000be01"))
            snap = await _wait(sc, "sc/snapshots/describe", m.SnapshotIds(["snap-0000be01"]),
                               m.SnapshotInfos, "snapshots", "pending", 600)
            snap_s, snap_cpu = time.monotonic() - began, cpu()
            if snap.state != "completed":
                raise RuntimeError(f"snapshot ended {snap.state}: {snap.reason}")
            say("restore ...")
            began = time.monotonic()
            await sc.call("POST", "sc/volumes/create",
                          m.VolumeCreate("vol-0000be02", 0, "snap-0000be01"))
            vol = await _wait(sc, "sc/volumes/describe", m.VolumeIds(["vol-0000be02"]),
                              m.VolumeInfos, "volumes", "creating", 600)
            restore_s, restore_cpu = time.monotonic() - began, cpu()
            if vol.state != "available":
                raise RuntimeError(f"restore ended {vol.state}: {vol.reason}")
            ex2 = await sc.call("POST", "sc/volumes/export",
                                m.VolumeExportRequest("vol-0000be02", "i-0000be02"),
                                reply=m.VolumeExport)
            same = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "raw", str(source),
                                   f"nbd+unix:///{ex2.export_name}?socket={ex2.nbd_socket}"],
                                  capture_output=True, text=True)
            phases = [line.split(": ", 1)[-1] for line in
                      (cloud.data_dir / "log" / "sc.log").read_text().splitlines()
                      if " took " in line or "fetched in" in line]
        finally:                        # stop the exports and free the space, whatever happened
            for vol_id in ("vol-0000be01", "vol-0000be02"):
                await sc.call("POST", "sc/volumes/delete", m.VolumeRef(vol_id))
            await sc.call("POST", "sc/snapshots/delete", m.SnapshotRef("snap-0000be01"))
    mb = size / 1e6
    return {
        "gib": gib, "identical": same.returncode == 0, "phases": phases,
        "snapshot_s": round(snap_s, 2), "snapshot_mb_s": round(mb / snap_s, 1),
        "restore_s": round(restore_s, 2), "restore_mb_s": round(mb / restore_s, 1),
        "snapshot_cpu_s": {n: round(snap_cpu[n] - before[n], 2) for n in before},
        "restore_cpu_s": {n: round(restore_cpu[n] - snap_cpu[n], 2) for n in before},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ebs", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--gib", type=int, default=1, help="volume size in GiB (default 1)")
    args = parser.parse_args(argv)
    say = lambda text: print(text, flush=True)  # noqa: E731
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-ebs-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        cloud = _cloud(work)
        try:
            result = asyncio.run(measure(cloud, args.gib, work, say))
        except Exception:
            say(cloud.logs())
            raise
        finally:
            cloud.stop()
        say("disk ceiling (dd) ...")
        result["disk"] = disk_ceiling(work, args.gib * 1024)
    result.update(cores=os.cpu_count(), load_start=[round(x, 2) for x in load_start],
                  load_end=[round(x, 2) for x in os.getloadavg()])
    disk = result["disk"]
    say(f"\n{'what':<34}{'MB/s':>8}{'s':>8}  vs dd")
    say(f"{'snapshot (volume -> Walrus)':<34}{result['snapshot_mb_s']:>8}"
        f"{result['snapshot_s']:>8}  {result['snapshot_mb_s'] / disk['write_mb_s']:.2f}x dd write")
    say(f"{'restore (Walrus -> volume)':<34}{result['restore_mb_s']:>8}"
        f"{result['restore_s']:>8}  {result['restore_mb_s'] / disk['write_mb_s']:.2f}x dd write")
    say(f"{'dd write (direct, fsync)':<34}{disk['write_mb_s']:>8}")
    say(f"{'dd read (direct)':<34}{disk['read_mb_s']:>8}")
    for phase in result["phases"]:
        say(f"  {phase}")
    say(f"CPU s snapshot {result['snapshot_cpu_s']}  restore {result['restore_cpu_s']}; "
        f"restored volume identical: {result['identical']}; {result['cores']} cores, "
        f"load {result['load_start']} -> {result['load_end']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["identical"] else 1
