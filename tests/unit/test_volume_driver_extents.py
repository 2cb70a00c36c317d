"""Sparse-file helpers of the volume drivers: data extents and hole-keeping copies."""
from __future__ import annotations

import os

import pytest

from eucalyptus.drivers.volume.extents import data_extents, has_data, sparse_copy

MIB = 1 << 20


def sparse_file(path, size: int, writes: dict[int, bytes]):
    """A file of ``size`` bytes holding only ``writes`` (offset -> bytes); holes elsewhere."""
    with open(path, "wb") as f:
        f.truncate(size)
        for offset, data in writes.items():
            f.seek(offset)
            f.write(data)
    return path


def test_extents_of_a_sparse_file(tmp_path):
    path = sparse_file(tmp_path / "a", 16 * MIB, {4 * MIB: b"x" * MIB, 12 * MIB: b"y" * 4096})
    fd = os.open(path, os.O_RDONLY)
    try:
        extents = list(data_extents(fd, 0, 16 * MIB))
        covered = b"".join(os.pread(fd, n, off) for off, n in extents)
        assert b"x" * MIB in covered and b"y" * 4096 in covered
        assert sum(n for _, n in extents) < 3 * MIB
        assert not has_data(fd, 0, 4 * MIB)
        assert has_data(fd, 3 * MIB, 5 * MIB)
        assert not has_data(fd, 13 * MIB, 16 * MIB)
        assert list(data_extents(fd, 5 * MIB, 5 * MIB)) == []
    finally:
        os.close(fd)


def test_sparse_copy_keeps_content_and_holes(tmp_path):
    data = os.urandom(MIB)
    src = sparse_file(tmp_path / "src", 64 * MIB, {10 * MIB: data})
    dst = tmp_path / "dst"
    sparse_copy(src, dst, fsync=True)
    assert dst.stat().st_size == 64 * MIB
    assert dst.stat().st_blocks * 512 < 4 * MIB
    assert dst.read_bytes() == src.read_bytes()


def test_sparse_copy_never_overwrites(tmp_path):
    src = sparse_file(tmp_path / "src", MIB, {0: b"a"})
    dst = tmp_path / "dst"
    dst.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        sparse_copy(src, dst)
    assert dst.read_bytes() == b"keep"
