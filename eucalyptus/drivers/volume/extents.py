"""Sparse files: where their data lies, and copies that keep their holes.

``data_extents(fd, start, end)`` yields ``(offset, length)`` of the ranges of ``[start, end)``
that may hold data (SEEK_DATA/SEEK_HOLE; a file system without them reports one range).
``has_data(fd, start, end)`` tells whether any such range exists. ``sparse_copy(src, dst)``
copies only those ranges with ``copy_file_range`` (in the kernel, no user-space buffers), so
holes stay holes and a copy of an empty volume costs nothing.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Iterator


def data_extents(fd: int, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    while pos < end:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:          # no data after pos
                return
            if exc.errno == errno.EINVAL:         # SEEK_DATA unsupported: all data
                yield pos, end - pos
                return
            raise
        if data >= end:
            return
        hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
        yield data, hole - data
        pos = hole


def has_data(fd: int, start: int, end: int) -> bool:
    return next(data_extents(fd, start, end), None) is not None


def sparse_copy(src: Path, dst: Path, fsync: bool = False) -> None:
    """Copy ``src`` to the new file ``dst`` (same size, holes kept); ``dst`` is removed when
    the copy fails. ``fsync`` makes the copy durable before returning."""
    with open(src, "rb") as fin:
        size = os.fstat(fin.fileno()).st_size

        def copy_extents(fd: int) -> None:
            for offset, length in data_extents(fin.fileno(), 0, size):
                done = 0
                while done < length:
                    n = os.copy_file_range(fin.fileno(), fd, length - done,
                                           offset + done, offset + done)
                    if n == 0:
                        raise OSError(errno.EIO, f"short copy of {src} at {offset + done}")
                    done += n

        new_sparse_file(Path(dst), size, copy_extents, fsync)


def new_sparse_file(path: Path, size: int, fill=None, fsync: bool = False) -> None:
    """Create the file ``path`` (never replacing one: FileExistsError) of ``size`` bytes, all
    holes; ``fill(fd)`` then writes into it and ``fsync`` makes it durable. The file is
    removed when any step fails."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
        if fill is not None:
            fill(fd)
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
