"""This machine's disk ceiling, measured with ``dd`` next to the data it benchmarks.

``disk_ceiling(directory, mib)`` writes ``mib`` MiB with ``oflag=direct conv=fsync`` (what the
disk takes, not the page cache) and reads them back with ``iflag=direct``; MB/s both ways.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

_RATE = re.compile(r"copied, ([0-9.]+) s")


def _dd(*args: str) -> float:
    done = subprocess.run(["dd", *args], capture_output=True, text=True, check=True)
    return float(_RATE.search(done.stderr).group(1))


def disk_ceiling(directory: Path, mib: int = 1024) -> dict[str, float]:
    path = Path(directory) / "dd-ceiling.bin"
    try:
        write_s = _dd("if=/dev/zero", f"of={path}", "bs=8M", f"count={mib // 8}",
                      "oflag=direct", "conv=fsync")
        read_s = _dd(f"if={path}", "of=/dev/null", "bs=8M", "iflag=direct")
    finally:
        path.unlink(missing_ok=True)
    size_mb = mib * (1 << 20) / 1e6
    return {"write_mb_s": round(size_mb / write_s, 1), "read_mb_s": round(size_mb / read_s, 1)}
