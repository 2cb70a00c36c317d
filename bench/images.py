"""``python -m bench.images``: bundle and upload throughput of a machine image.

Starts a cloud-in-a-box (no starter image) in a temporary directory, writes an image of
``--gib`` GiB (``--random`` percent incompressible random bytes, the rest zeros, as a disk
with free space has), then times the user's two commands as a user runs them, with the
cloud's eucarc in the environment: ``euca-bundle-image`` (tar, SHA-1, gzip, AES-128-CBC,
10 MiB parts, signed manifest) and ``euca-upload-bundle`` (parts and manifest into Walrus).
Prints MB/s (10^6 bytes of image per second) of each step and of both together, with the
CPU of the commands and of Walrus and the load average. The same gzip+AES work on one core
(``gzip -1`` is not what bundling uses; bundling uses zlib's default level) bounds bundling.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.procstat import tree_cpu_seconds

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results" / "images-latest.json"
CHUNK = 8 << 20


def write_image(path: Path, gib: float, random_percent: int) -> int:
    size = int(gib * (1 << 30)) // CHUNK * CHUNK
    chunks = size // CHUNK
    random_chunks = chunks * random_percent // 100
    zeros = bytes(CHUNK)
    with open(path, "wb") as f:
        for n in range(chunks):        # spread random and zero chunks over the whole image
            f.write(os.urandom(CHUNK) if n * random_chunks // chunks !=
                    (n + 1) * random_chunks // chunks else zeros)
    return size


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command) of one command that must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])} failed:\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.images", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="image size (default 1 GiB)")
    parser.add_argument("--random", type=int, default=50, metavar="PERCENT",
                        help="share of incompressible bytes (default 50)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from tests.cloud_fixture import Cloud

    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        work = Path(tmp)
        print("starting a cloud-in-a-box ...", flush=True)
        cloud = Cloud.start(work / "data", {"EUCA_STARTER_IMAGE": "no"}, timeout=120)
        try:
            image = work / "disk.img"
            size = write_image(image, args.gib, args.random)
            (work / "home").mkdir()
            env = {"PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
                   "HOME": str(work / "home"), **cloud.env}
            parts = work / "parts"
            parts.mkdir()
            walrus_pid = cloud.pids()["walrus"]
            load_start = os.getloadavg()
            print(f"bundling {size / 1e6:,.0f} MB ({args.random}% random) ...", flush=True)
            bundle_s, bundle_cpu = timed(
                ["euca-bundle-image", "-i", str(image), "-d", str(parts), "--quiet"], env)
            walrus_before = tree_cpu_seconds(walrus_pid)
            print("uploading ...", flush=True)
            upload_s, upload_cpu = timed(
                ["euca-upload-bundle", "-b", "bench-images", "-m",
                 str(parts / "disk.img.manifest.xml"), "--quiet"], env)
            walrus_cpu = tree_cpu_seconds(walrus_pid) - walrus_before
            stored = sum(p.stat().st_size for p in parts.iterdir())
        finally:
            cloud.stop()
    result = {
        "image_bytes": size, "random_percent": args.random, "bundle_bytes": stored,
        "bundle_s": bundle_s, "bundle_mb_s": size / bundle_s / 1e6, "bundle_cpu_s": bundle_cpu,
        "upload_s": upload_s, "upload_mb_s": size / upload_s / 1e6, "upload_cpu_s": upload_cpu,
        "walrus_cpu_s": walrus_cpu, "total_mb_s": size / (bundle_s + upload_s) / 1e6,
        "load_start": load_start, "load_end": os.getloadavg(), "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(f"\n{'step':<22}{'seconds':>9}{'MB/s':>9}{'cpu s':>8}")
    print(f"{'euca-bundle-image':<22}{bundle_s:>9.1f}{result['bundle_mb_s']:>9.1f}"
          f"{bundle_cpu:>8.1f}")
    print(f"{'euca-upload-bundle':<22}{upload_s:>9.1f}{result['upload_mb_s']:>9.1f}"
          f"{upload_cpu:>8.1f}   (Walrus {walrus_cpu:.1f} cpu s)")
    print(f"{'bundle + upload':<22}{bundle_s + upload_s:>9.1f}{result['total_mb_s']:>9.1f}")
    print(f"image {size / 1e6:,.0f} MB -> bundle {stored / 1e6:,.0f} MB; load average "
          f"{load_start[0]:.2f} -> {result['load_end'][0]:.2f} on {os.cpu_count()} cores; "
          f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
