"""The NBD root disk of EBS-backed instances (nc.root_volume): QEMU argv, the node's launch
checks and clean power-off, the wire form; and the euca2ools block device mapping syntax."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from eucalyptus import errors
from eucalyptus.cli.block_devices import mapping_param, mappings_param
from eucalyptus.cli.connection import CommandError
from eucalyptus.drivers.hypervisor.base import InstanceSpec
from eucalyptus.drivers.hypervisor.qemu import qemu_argv
from eucalyptus.nc import root_volume
from eucalyptus.nc.instances import InstanceManager
from eucalyptus.nc.messages import RunInstance
from eucalyptus.nc.resources import Capacity
from eucalyptus.rpc.messages import from_wire, to_wire
from tests.fakes.hypervisor import FakeDriver

ROOT = root_volume.RootVolume("vol-0a1b2c3d", "vol-0a1b2c3d", nbd_socket="/run/sc/nbd.sock")


def _spec(**kw) -> InstanceSpec:
    base = dict(instance_id="i-12345678", instance_dir=Path("/srv/i-12345678"),
                extra=root_volume.spec_extra(ROOT))
    return InstanceSpec(**{**base, **kw})


def _after(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_argv_root_is_an_nbd_blockdev_with_the_volume_serial():
    argv = qemu_argv(_spec(kernel=Path("/c/vmlinux"), ramdisk=Path("/c/initrd")))
    (blockdev,) = [json.loads(b) for b in _after(argv, "-blockdev")]
    assert blockdev == {"driver": "nbd", "node-name": "disk-vol-0a1b2c3d", "read-only": False,
                        "server": {"type": "unix", "path": "/run/sc/nbd.sock"},
                        "export": "vol-0a1b2c3d"}
    root_dev = [d for d in _after(argv, "-device") if "drive=disk-vol-0a1b2c3d" in d]
    assert root_dev == ["virtio-blk-pci,id=dev-vol-0a1b2c3d,drive=disk-vol-0a1b2c3d,"
                        "serial=vol-0a1b2c3d"]                # the kernel's loader boots first
    assert "-drive" not in argv and _after(argv, "-kernel") == ["/c/vmlinux"]
    # without a kernel the volume is the boot disk; over TCP for another host
    tcp = root_volume.RootVolume("vol-0a1b2c3d", "exp", nbd_host="10.1.0.2", nbd_port=10809)
    argv = qemu_argv(_spec(extra=root_volume.spec_extra(tcp)))
    assert json.loads(_after(argv, "-blockdev")[0])["server"] == {
        "type": "inet", "host": "10.1.0.2", "port": "10809"}
    assert any(d.endswith(",bootindex=0") for d in _after(argv, "-device"))


def test_spec_needs_a_boot_source():
    with pytest.raises(ValueError):
        InstanceSpec(instance_id="i-12345678", instance_dir=Path("/x"))
    with pytest.raises(ValueError):
        _spec(kernel=Path("/k"), disk=Path("/d"))
    assert _spec().kernel is None


def test_wire_form_round_trips():
    msg = RunInstance("i-12345678", kernel="/k", root_volume=ROOT)
    assert from_wire(RunInstance, json.loads(json.dumps(to_wire(msg)))) == msg
    assert from_wire(RunInstance, to_wire(RunInstance("i-12345678"))).root_volume is None


def test_node_boots_from_the_export_and_powers_off_cleanly(tmp_path):
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes(b"\x7fELF")
    driver = FakeDriver()
    powered: list[str] = []
    original = driver.powerdown

    async def powerdown(handle, wait=0.0):
        powered.append(handle.instance_id)
        return await original(handle, wait)
    driver.powerdown = powerdown

    async def scenario():
        m = InstanceManager(tmp_path / "inst", driver, Capacity(2, 1024, 10))
        await m.run(RunInstance("i-00000001", kernel=str(kernel), root_volume=ROOT))
        assert root_volume.root_of(tmp_path / "inst" / "i-00000001") == ROOT
        await m.terminate("i-00000001")
        assert powered == ["i-00000001"]
        await m.run(RunInstance("i-00000002", kernel=str(kernel)))    # instance-store
        await m.terminate("i-00000002")
        assert powered == ["i-00000001"]
        for bad in (RunInstance("i-00000003", root_volume=root_volume.RootVolume("v", "e")),
                    RunInstance("i-00000003", disk_image=str(kernel), root_volume=ROOT)):
            with pytest.raises(errors.InvalidParameterValue):
                await m.run(bad)
        assert not (tmp_path / "inst" / "i-00000003").exists()
    asyncio.run(scenario())


def test_block_device_mapping_syntax():
    assert mapping_param("/dev/sdb=snap-12345678:10:false:gp2") == {
        "DeviceName": "/dev/sdb", "Ebs": {"SnapshotId": "snap-12345678", "VolumeSize": 10,
                                          "DeleteOnTermination": False, "VolumeType": "gp2"}}
    assert mapping_param("/dev/sdc=:5") == {"DeviceName": "/dev/sdc", "Ebs": {"VolumeSize": 5}}
    assert mapping_param("/dev/sdd=ephemeral0") == {"DeviceName": "/dev/sdd",
                                                    "VirtualName": "ephemeral0"}
    assert mapping_param("/dev/sde=none") == {"DeviceName": "/dev/sde", "NoDevice": ""}
    for bad in ("/dev/sdb", "/dev/sdb=vol-1", "/dev/sdb=:x", "/dev/sdb=snap-1:1:maybe",
                "/dev/sdb=:", "/dev/sdb=a:b:c:d:e:f"):
        with pytest.raises(CommandError):
            mapping_param(bad)
    assert mappings_param([], "snap-12345678") == [
        {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-12345678"}}]
    given = mappings_param(["/dev/xvda=snap-87654321:3"], "snap-12345678", "/dev/xvda")
    assert given == [{"DeviceName": "/dev/xvda",
                      "Ebs": {"SnapshotId": "snap-87654321", "VolumeSize": 3}}]
