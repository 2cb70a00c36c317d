"""The starter image's kernel: a Debian kernel package unpacked into a cache, never installed.

``fetch_kernel(cache_dir)`` resolves a kernel meta-package (``linux-image-cloud-amd64`` first,
``linux-image-amd64`` otherwise) to the versioned package it depends on, downloads that
package with ``apt-get download`` and unpacks it with ``dpkg-deb -x`` into
``cache_dir/kernel/<package>_<version>/``. Nothing on the host changes. A second call with the
same package version reuses the unpacked tree without running apt at all when the version is
given, or after one quick ``apt-cache`` query otherwise.

``extract_vmlinux(bzimage, out)`` finds the compressed payload inside a bzImage and writes the
uncompressed ELF ``vmlinux``; QEMU boots that through the PVH entry point, which under TCG
saves the in-guest decompression (about half the boot time).
"""
from __future__ import annotations

import gzip
import io
import lzma
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

META_PACKAGES = ("linux-image-cloud-amd64", "linux-image-amd64")


class KernelError(RuntimeError):
    """No usable kernel package or payload; the message says what to install or check."""


@dataclass(frozen=True)
class KernelTree:
    """An unpacked kernel package."""
    package: str
    version: str          # the package version, e.g. 6.1.192-2
    release: str          # the kernel release (uname -r), e.g. 6.1.0-56-cloud-amd64
    root: Path            # the dpkg-deb -x tree

    @property
    def bzimage(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules(self) -> Path:
        return self.root / "lib" / "modules" / self.release


def _run(argv: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise KernelError(f"{argv[0]} is not installed (Debian's apt/dpkg are needed)") from None
    if done.returncode != 0:
        raise KernelError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def resolve_package(meta_packages: tuple[str, ...] = META_PACKAGES) -> tuple[str, str]:
    """(versioned package, version) behind the first meta-package apt knows."""
    for meta in meta_packages:
        try:
            out = _run(["apt-cache", "depends", "--no-recommends", "--no-suggests", meta])
        except KernelError:
            continue
        match = re.search(r"Depends:\s*(linux-image-\d\S*)", out)
        if not match:
            continue
        package = match.group(1)
        show = _run(["apt-cache", "show", "--no-all-versions", package])
        version = re.search(r"^Version:\s*(\S+)", show, re.M)
        if version:
            return package, version.group(1)
    raise KernelError(f"apt knows none of {', '.join(meta_packages)}; run apt-get update")


def fetch_kernel(cache_dir: Path, package: str | None = None,
                 version: str | None = None) -> KernelTree:
    """The unpacked kernel package (downloaded on first use); see the module docstring."""
    if package is None or version is None:
        package, version = resolve_package()
    release = package.removeprefix("linux-image-")
    root = Path(cache_dir) / "kernel" / f"{package}_{version}"
    tree = KernelTree(package, version, release, root)
    if (root / ".complete").exists():
        return tree
    work = root.with_name(root.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        _run(["apt-get", "download", f"{package}={version}"], cwd=work)
        debs = sorted(work.glob("*.deb"))
        if not debs:
            raise KernelError(f"apt-get download {package} gave no .deb file")
        _run(["dpkg-deb", "-x", str(debs[0]), str(work / "tree")])
        for deb in debs:
            deb.unlink()
        shutil.rmtree(root, ignore_errors=True)
        (work / "tree").rename(root)
        (root / ".complete").write_text(f"{package} {version}\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not tree.bzimage.exists():
        raise KernelError(f"{package} holds no {tree.bzimage.name}")
    return tree


def _elf_size(data: bytes) -> int:
    """Bytes an x86-64 ELF needs to hold all its segments (0 when ``data`` is not one)."""
    if len(data) < 64 or data[:5] != b"\x7fELF\x02":
        return 0
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = phoff + phentsize * phnum
    for i in range(phnum):
        off, = struct.unpack_from("<Q", data, phoff + i * phentsize + 0x08)
        filesz, = struct.unpack_from("<Q", data, phoff + i * phentsize + 0x20)
        end = max(end, off + filesz)
    return end


def _unpack(kind: str, payload: bytes) -> bytes:
    if kind == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    if kind == "gzip":
        return gzip.GzipFile(fileobj=io.BytesIO(payload)).read()
    tool = {"lz4": ["lz4", "-dc"], "zstd": ["zstd", "-dc"]}[kind]
    try:
        # the payload is followed by the bzImage's trailer, so the tool may complain at the
        # end after writing everything: the ELF size check below decides
        done = subprocess.run(tool, input=payload, capture_output=True, timeout=120)
    except FileNotFoundError:
        raise KernelError(f"{tool[0]} is not installed (needed to unpack the kernel)") from None
    return done.stdout


MAGICS = (("lz4", b"\x02\x21\x4c\x18"), ("xz", b"\xfd7zXZ\x00"), ("zstd", b"\x28\xb5\x2f\xfd"),
          ("gzip", b"\x1f\x8b\x08"))


def extract_vmlinux(bzimage: Path, out: Path) -> Path:
    """Write the uncompressed ELF kernel inside ``bzimage`` to ``out`` (atomically)."""
    data = Path(bzimage).read_bytes()
    for kind, magic in MAGICS:
        start = data.find(magic)
        while start >= 0:
            try:
                elf = _unpack(kind, data[start:])
            except (lzma.LZMAError, OSError, EOFError):
                elf = b""
            size = _elf_size(elf)
            if size and len(elf) >= size:
                tmp = out.with_name(out.name + ".tmp")
                tmp.write_bytes(elf)
                os.replace(tmp, out)
                return out
            start = data.find(magic, start + 1)
    raise KernelError(f"{bzimage}: no compressed ELF kernel found inside")
