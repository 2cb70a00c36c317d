"""What Walrus keeps on disk, read from outside: blob files, and the data (not punched) in
segment files, to compare with the blobs the database names."""
from __future__ import annotations

import os
from pathlib import Path

from eucalyptus.drivers.objects.segments import BLOCK, parse_id, span


def _blocks(offset: int) -> int:
    return -(-offset // BLOCK) * BLOCK


def segment_runs(walrus_dir: Path) -> set[tuple[str, int, int]]:
    """(segment, start, end) of every stretch of data in the segment files."""
    runs = set()
    for path in (Path(walrus_dir) / "segments").glob("*"):
        fd = os.open(path, os.O_RDONLY)
        try:
            offset = 0
            while True:
                try:
                    start = os.lseek(fd, offset, os.SEEK_DATA)
                except OSError:
                    break
                end = os.lseek(fd, start, os.SEEK_HOLE)
                runs.add((path.name, start, _blocks(end)))
                offset = end
        finally:
            os.close(fd)
    return runs


def named_runs(blob_ids) -> set[tuple[str, int, int]]:
    """The stretches the segment blobs among ``blob_ids`` occupy, adjacent ones joined."""
    extents = sorted((segment, offset, span(length)) for segment, offset, length in
                     filter(None, map(parse_id, blob_ids)))
    runs: list[list] = []
    for segment, offset, length in extents:
        if runs and runs[-1][0] == segment and runs[-1][2] == offset:
            runs[-1][2] = offset + length
        else:
            runs.append([segment, offset, offset + length])
    return {tuple(run) for run in runs}


def blob_files(walrus_dir: Path) -> set[str]:
    return {p.name for p in (Path(walrus_dir) / "blobs").glob("*/*")}
