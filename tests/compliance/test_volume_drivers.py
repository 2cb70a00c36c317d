"""Every volume driver against the contract in eucalyptus/drivers/volume/base.py."""
from __future__ import annotations

import hashlib
import os

import pytest

from eucalyptus.drivers import volume as volume_drivers
from eucalyptus.drivers.volume.base import (VolumeDriver, VolumeDriverError, VolumeExists,
                                            VolumeMissing)

MIB = 1 << 20
DRIVERS = sorted(volume_drivers.DRIVERS)


@pytest.fixture(params=DRIVERS)
def driver(request, tmp_path) -> VolumeDriver:
    return volume_drivers.load(request.param, tmp_path / "volumes")


def raw_of(driver: VolumeDriver, volume_id: str, tmp_path) -> bytes:
    dest = tmp_path / f"copy-{volume_id}-{os.urandom(4).hex()}.raw"
    driver.copy_raw(volume_id, dest)
    try:
        return dest.read_bytes()
    finally:
        dest.unlink()


def write_raw(path, size: int, writes: dict[int, bytes]) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
        for offset, data in writes.items():
            f.seek(offset)
            f.write(data)


def test_new_volume_reads_as_zeros_and_costs_little(driver, tmp_path):
    path = driver.create("vol-00000001", 8 * MIB)
    assert path.exists() and driver.exists("vol-00000001")
    assert driver.size("vol-00000001") == 8 * MIB
    assert raw_of(driver, "vol-00000001", tmp_path) == bytes(8 * MIB)
    assert driver.sparse and driver.allocated("vol-00000001") < MIB
    assert driver.ids() == ["vol-00000001"]


def test_create_refuses_an_existing_id(driver):
    driver.create("vol-00000001", MIB)
    with pytest.raises(VolumeExists):
        driver.create("vol-00000001", MIB)


def test_ids_must_be_volume_ids(driver):
    with pytest.raises(VolumeDriverError):
        driver.create("../etc", MIB)


def test_import_raw_holds_exactly_the_image_and_consumes_it(driver, tmp_path):
    raw = tmp_path / "in.raw"
    data = os.urandom(MIB)
    write_raw(raw, 4 * MIB, {MIB: data})
    driver.import_raw("vol-00000002", raw)
    assert not raw.exists()
    assert driver.size("vol-00000002") == 4 * MIB
    assert raw_of(driver, "vol-00000002", tmp_path) == bytes(MIB) + data + bytes(2 * MIB)


def test_import_raw_onto_an_existing_volume_fails_and_keeps_it(driver, tmp_path):
    driver.create("vol-00000003", MIB)
    raw = tmp_path / "in.raw"
    write_raw(raw, MIB, {0: b"x" * 100})
    with pytest.raises(VolumeExists):
        driver.import_raw("vol-00000003", raw)
    assert not raw.exists()
    assert raw_of(driver, "vol-00000003", tmp_path) == bytes(MIB)


def test_copy_raw_is_sparse_and_exact(driver, tmp_path):
    raw = tmp_path / "in.raw"
    data = os.urandom(64 * 1024)
    write_raw(raw, 64 * MIB, {32 * MIB: data})
    driver.import_raw("vol-00000004", raw)
    dest = tmp_path / "out.raw"
    driver.copy_raw("vol-00000004", dest)
    assert dest.stat().st_size == 64 * MIB
    assert dest.stat().st_blocks * 512 < 4 * MIB
    with open(dest, "rb") as f:
        f.seek(32 * MIB)
        assert f.read(len(data)) == data
    with pytest.raises(VolumeDriverError):
        driver.copy_raw("vol-00000004", dest)            # dest exists: never overwritten


def test_delete_removes_the_bytes_and_is_idempotent(driver, tmp_path):
    raw = tmp_path / "in.raw"
    secret = b"tenant-a secret " * 4096
    write_raw(raw, 2 * MIB, {0: secret})
    path = driver.import_raw("vol-00000005", raw)
    assert driver.delete("vol-00000005") is True
    assert not path.exists()
    assert driver.delete("vol-00000005") is False
    with pytest.raises(VolumeMissing):
        driver.size("vol-00000005")
    with pytest.raises(VolumeMissing):
        driver.allocated("vol-00000005")
    with pytest.raises(VolumeMissing):
        driver.copy_raw("vol-00000005", tmp_path / "x.raw")
    # the next tenant with the same id gets a fresh, all-zero volume
    driver.create("vol-00000005", 2 * MIB)
    copy = raw_of(driver, "vol-00000005", tmp_path)
    assert hashlib.sha256(copy).digest() == hashlib.sha256(bytes(2 * MIB)).digest()


def test_failed_import_leaves_nothing(driver, tmp_path):
    with pytest.raises((OSError, VolumeDriverError)):
        driver.import_raw("vol-00000006", tmp_path / "missing.raw")
    assert not driver.exists("vol-00000006")


def test_load_rejects_unknown_drivers(tmp_path):
    with pytest.raises(ValueError):
        volume_drivers.load("lvm", tmp_path)
    with pytest.raises(TypeError):
        volume_drivers.load("pathlib:PurePath", tmp_path)
