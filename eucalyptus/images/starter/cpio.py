"""A writer of "newc" cpio archives, the format the Linux kernel unpacks as an initramfs.

    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        archive = CpioWriter(gz)
        archive.directory("etc")
        archive.file("etc/passwd", b"root:x:0:0::/root:/bin/sh\\n")
        archive.symlink("bin/sh", "busybox")
        archive.device("dev/console", 5, 1)
        archive.close()

Every entry is owned by root with mtime 0, so the same inputs give the same bytes. Paths are
written without a leading slash; a parent directory must be added before its children.
"""
from __future__ import annotations

import stat
from typing import BinaryIO

_TRAILER = "TRAILER!!!"


class CpioWriter:
    """Appends entries to ``out``; ``close()`` writes the trailer (``out`` stays open)."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.ino = 1
        self.names: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               nlink: int = 1) -> None:
        name = name.lstrip("/")
        if name in self.names:
            raise ValueError(f"cpio: duplicate entry {name}")
        if name != _TRAILER:
            self.names.add(name)
        encoded = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0]
        self.ino += 1
        header = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.out.write(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self.out.write(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str, mode: int = 0o755) -> None:
        self._entry(name, stat.S_IFDIR | mode, nlink=2)

    def file(self, name: str, data: bytes | str, mode: int = 0o644) -> None:
        """A regular file; text is written as UTF-8."""
        self._entry(name, stat.S_IFREG | mode, data.encode() if isinstance(data, str) else data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def device(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def close(self) -> None:
        self._entry(_TRAILER, 0)
