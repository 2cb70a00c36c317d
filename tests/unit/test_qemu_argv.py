"""QEMU argv built as data, and the QMP messages of disk hot-plug."""
from __future__ import annotations

from pathlib import Path

import pytest

from eucalyptus.drivers.hypervisor.base import DiskAttachment, InstanceSpec
from eucalyptus.drivers.hypervisor.qemu import blockdev_args, device_args, qemu_argv


def _spec(**kw) -> InstanceSpec:
    base = dict(instance_id="i-12345678", instance_dir=Path("/srv/inst/i-12345678"),
                kernel=Path("/c/vmlinux"), ramdisk=Path("/c/initrd"), cmdline="console=ttyS0")
    return InstanceSpec(**{**base, **kw})


def _pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_kernel_boot_with_network_in_a_namespace():
    argv = qemu_argv(_spec(vcpus=2, memory_mib=512, tap="vn123", mac="d0:0d:00:00:00:01",
                           netns="cloud-1", hotplug_slots=3), "tcg")
    assert argv[:5] == ["ip", "netns", "exec", "cloud-1", "qemu-system-x86_64"]
    assert _pairs(argv, "-accel") == ["tcg"] and "-cpu" not in argv
    assert _pairs(argv, "-machine") == ["q35"]
    assert _pairs(argv, "-smp") == ["2"] and _pairs(argv, "-m") == ["512"]
    assert _pairs(argv, "-kernel") == ["/c/vmlinux"] and _pairs(argv, "-initrd") == ["/c/initrd"]
    assert _pairs(argv, "-append") == ["console=ttyS0"]
    assert "tap,id=net0,ifname=vn123,script=no,downscript=no" in _pairs(argv, "-netdev")
    devices = _pairs(argv, "-device")
    assert "virtio-net-pci,netdev=net0,mac=d0:0d:00:00:00:01,romfile=" in devices
    assert [d for d in devices if d.startswith("pcie-root-port")] == [
        f"pcie-root-port,id=hp{i},bus=pcie.0,chassis={i},slot={i}" for i in (1, 2, 3)]
    assert _pairs(argv, "-qmp") == ["unix:qmp.sock,server=on,wait=off"]
    assert _pairs(argv, "-pidfile") == ["/srv/inst/i-12345678/qemu.pid"]
    assert "logfile=/srv/inst/i-12345678/console.log,logappend=on" in _pairs(argv, "-chardev")[0]
    assert argv[-1] == "-daemonize"


def test_disk_boot_kvm_and_no_network():
    argv = qemu_argv(_spec(kernel=None, ramdisk=None, cmdline="",
                           disk=Path("/x,y/overlay.qcow2")), "kvm")
    assert argv[0] == "qemu-system-x86_64"
    assert _pairs(argv, "-cpu") == ["host"] and _pairs(argv, "-accel") == ["kvm"]
    assert "-kernel" not in argv and "-netdev" not in argv
    assert _pairs(argv, "-drive") == ["file=/x,,y/overlay.qcow2,if=none,id=root,format=qcow2"]
    with pytest.raises(ValueError):
        qemu_argv(_spec(), "xen")


def test_spec_validation_and_json_round_trip():
    with pytest.raises(ValueError):
        _spec(disk=Path("/d.qcow2"))              # both kernel and disk
    with pytest.raises(ValueError):
        _spec(vcpus=0)
    spec = _spec(tap="t", netns="n")
    assert InstanceSpec.from_json(spec.to_json()) == spec


def test_hotplug_messages():
    f = DiskAttachment("vol-0001", path=Path("/v/vol.qcow2"), format="qcow2")
    assert blockdev_args(f) == {"driver": "qcow2", "node-name": "disk-vol-0001",
                                "read-only": False,
                                "file": {"driver": "file", "filename": "/v/vol.qcow2"}}
    assert device_args(f, "hp2") == {"driver": "virtio-blk-pci", "id": "dev-vol-0001",
                                     "drive": "disk-vol-0001", "bus": "hp2",
                                     "serial": "vol-0001"}
    nbd = DiskAttachment("vol-2", nbd_host="127.0.0.1", nbd_port=10809, nbd_export="vol2")
    assert blockdev_args(nbd)["server"] == {"type": "inet", "host": "127.0.0.1",
                                            "port": "10809"}
    unix = DiskAttachment("vol-3", nbd_socket=Path("/run/q.sock"), nbd_export="vol3")
    assert blockdev_args(unix)["server"] == {"type": "unix", "path": "/run/q.sock"}
    for bad in (dict(serial="x" * 21, path=Path("/a")), dict(serial="v", path=None),
                dict(serial="a b", path=Path("/a"))):
        with pytest.raises(ValueError):
            DiskAttachment(**bad)
