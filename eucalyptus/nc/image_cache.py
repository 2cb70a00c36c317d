"""The node's image cache: image files by SHA-256 digest, bounded in size, least recently used
first out.

    cache = ImageCache(root, max_bytes, in_use=lambda digest: ...)
    path = cache.put(digest, downloaded_file)     # verified, moved in; may evict others
    path = cache.get(digest)                      # None when absent; marks it recently used
    cache.evict(digest)

Files live at ``root/<digest>``; recency is the file's mtime (``get`` touches it), so the order
survives node restarts. ``put`` checks the file's digest (ValueError on a mismatch, and the
file is removed) and renames it in atomically, so a half-written image is never visible.
Eviction never removes an image ``in_use`` reports as used by an instance (their overlays need
it); such images may keep the cache above its bound until they are released.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable

DIGEST = re.compile(r"[0-9a-f]{64}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ImageCache:
    def __init__(self, root: Path, max_bytes: int,
                 in_use: Callable[[str], bool] = lambda _digest: False):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.in_use = in_use

    def _path(self, digest: str) -> Path:
        if not DIGEST.fullmatch(digest):
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        return self.root / digest

    def temp_file(self) -> Path:
        """A new empty file inside the cache's file system, for downloads to land in."""
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        os.close(fd)
        return Path(name)

    def put(self, digest: str, source: Path, verify: bool = True) -> Path:
        """Move ``source`` in as image ``digest`` (copying when on another file system)."""
        target = self._path(digest)
        if target.exists():
            Path(source).unlink(missing_ok=True)
            return self.get(digest) or target
        if verify:
            actual = file_sha256(source)
            if actual != digest:
                Path(source).unlink(missing_ok=True)
                raise ValueError(f"image digest mismatch: expected {digest}, got {actual}")
        tmp = self.root / f".{digest}.tmp"
        shutil.move(str(source), tmp)
        os.replace(tmp, target)
        self.trim(keep=digest)
        return target

    def get(self, digest: str) -> Path | None:
        path = self._path(digest)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def evict(self, digest: str) -> bool:
        """Remove ``digest`` unless it is in use; True when it was removed."""
        path = self._path(digest)
        if self.in_use(digest) or not path.exists():
            return False
        path.unlink(missing_ok=True)
        return True

    def entries(self) -> list[tuple[str, int, float]]:
        """(digest, size, last use) of every cached image, least recently used first."""
        out = []
        for path in self.root.iterdir():
            if DIGEST.fullmatch(path.name):
                st = path.stat()
                out.append((path.name, st.st_size, st.st_mtime))
        return sorted(out, key=lambda e: e[2])

    def size(self) -> int:
        return sum(size for _d, size, _t in self.entries())

    def trim(self, keep: str = "") -> list[str]:
        """Evict least recently used images until the cache fits; the evicted digests."""
        entries = self.entries()
        total = sum(size for _d, size, _t in entries)
        evicted = []
        for digest, size, _t in entries:
            if total <= self.max_bytes:
                break
            if digest != keep and self.evict(digest):
                total -= size
                evicted.append(digest)
        return evicted
