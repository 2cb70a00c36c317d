"""The starter image: a Debian kernel and a small busybox/dropbear initramfs with a metadata agent.

    image = build_starter(cache_dir)          # -> StarterImage(kernel, ramdisk, cmdline, ...)

``build_starter`` writes ``vmlinux`` (the uncompressed kernel, booted through PVH),
``initramfs.cpio.gz`` and ``starter.json`` (package, release, sizes and SHA-256 digests) into
``output`` (default ``cache_dir/starter``). Inputs are the host's busybox-static and
dropbear-bin, a kernel package fetched by ``kernel.fetch_kernel`` into ``cache_dir/kernel``, and
the guest's ``/init`` (``guest_init.sh``). When none of them changed since the last build the
call returns the existing files at once. Builds of one cache directory are serialised with a
file lock, so parallel callers are safe. The output is reproducible: same inputs, same digests.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from eucalyptus.images.starter import rootfs
from eucalyptus.images.starter.cpio import CpioWriter
from eucalyptus.images.starter.kernel import KernelError, extract_vmlinux, fetch_kernel

__all__ = ["StarterImage", "build_starter", "default_cache_dir", "KernelError", "CMDLINE",
           "READY_MARKER"]

FORMAT = 1                      # bump when the layout of the initramfs changes
CMDLINE = "console=ttyS0 quiet panic=-1"
READY_MARKER = "EUCALYPTUS-GUEST-READY"
DESCRIPTION = "starter.json"


@dataclass(frozen=True)
class StarterImage:
    """A built starter image: what the images service bundles as eki/eri and a node boots."""
    kernel: Path
    ramdisk: Path
    cmdline: str
    kernel_release: str
    kernel_sha256: str
    ramdisk_sha256: str
    description: Path


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/eucalyptus`` or ``~/.cache/eucalyptus``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "eucalyptus"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inputs_digest(package: str, version: str) -> str:
    digest = hashlib.sha256(f"format={FORMAT} kernel={package}={version}\n".encode())
    digest.update(rootfs.INIT_SCRIPT.read_bytes())
    for path in rootfs.host_inputs():
        st = path.stat()
        digest.update(f"{path} {st.st_size} {st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _image(out: Path, info: dict) -> StarterImage:
    return StarterImage(kernel=out / "vmlinux", ramdisk=out / "initramfs.cpio.gz",
                        cmdline=info["cmdline"], kernel_release=info["kernel_release"],
                        kernel_sha256=info["kernel"]["sha256"],
                        ramdisk_sha256=info["ramdisk"]["sha256"], description=out / DESCRIPTION)


def _cached(out: Path, inputs: str) -> StarterImage | None:
    try:
        info = json.loads((out / DESCRIPTION).read_text())
    except (OSError, ValueError):
        return None
    if info.get("inputs") != inputs:
        return None
    for key, name in (("kernel", "vmlinux"), ("ramdisk", "initramfs.cpio.gz")):
        f = out / name
        if not f.exists() or f.stat().st_size != info[key]["size"]:
            return None
    return _image(out, info)


def build_starter(cache_dir: Path | None = None, output: Path | None = None,
                  kernel_package: str | None = None,
                  kernel_version: str | None = None) -> StarterImage:
    """Build (or reuse) the starter image; raises KernelError/FileNotFoundError naming what is
    missing on the host (busybox-static, dropbear-bin, a kernel package)."""
    cache_dir = Path(cache_dir or default_cache_dir())
    out = Path(output or cache_dir / "starter")
    out.mkdir(parents=True, exist_ok=True)
    for need, package in ((rootfs.BUSYBOX, "busybox-static"),
                          (rootfs.PROGRAMS[0], "dropbear-bin")):
        if not need.exists():
            raise FileNotFoundError(f"{need} is missing: apt-get install {package}")
    with open(cache_dir / ".starter.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tree = fetch_kernel(cache_dir, kernel_package, kernel_version)
        inputs = _inputs_digest(tree.package, tree.version)
        cached = _cached(out, inputs)
        if cached is not None:
            return cached
        vmlinux = tree.root / "vmlinux"
        if not vmlinux.exists():
            extract_vmlinux(tree.bzimage, vmlinux)
        modules = rootfs.find_modules(tree.modules)
        ramdisk = out / "initramfs.cpio.gz"
        tmp = ramdisk.with_name(ramdisk.name + ".tmp")
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                   filename="", compresslevel=6) as gz:
            archive = CpioWriter(gz)
            rootfs.write_rootfs(archive, modules)
            archive.close()
        os.replace(tmp, ramdisk)
        kernel = out / "vmlinux"
        if kernel.exists() or kernel.is_symlink():
            kernel.unlink()
        try:
            os.link(vmlinux, kernel)
        except OSError:
            kernel.write_bytes(vmlinux.read_bytes())
        info = {"format": FORMAT, "inputs": inputs, "cmdline": CMDLINE,
                "kernel_package": tree.package, "kernel_version": tree.version,
                "kernel_release": tree.release, "modules": [m.name for m in modules],
                "kernel": {"file": "vmlinux", "size": kernel.stat().st_size,
                           "sha256": _sha256(kernel)},
                "ramdisk": {"file": ramdisk.name, "size": ramdisk.stat().st_size,
                            "sha256": _sha256(ramdisk)}}
        tmp_info = out / (DESCRIPTION + ".tmp")
        tmp_info.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(tmp_info, out / DESCRIPTION)
        return _image(out, info)
