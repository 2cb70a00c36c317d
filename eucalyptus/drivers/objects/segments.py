"""Small blobs packed into segment files: ``ROOT/segments/<16 hex>``.

A blob of its own file costs far more than its bytes when it is small: creating the file
allocates an inode and a directory entry, and making it durable writes the inode, the
directory and the data separately (on a filesystem without a journal, three synchronous
writes). A small blob already whole in memory (``FsBlobStore.put``) is instead written at the
end of the process' current segment, block-aligned, with ``pwrite`` and made durable with
``fdatasync`` (the kernel shares one flush between writers that sync together); its id names
the segment, the offset and the length (``<segment>-<offset hex>-<length hex>``), so no index
is needed. Each process writes only segments it made (a fresh random name, its directory entry
fsynced before the first blob in it is acknowledged), so processes never contend, and a
segment takes blobs until it holds ``SEGMENT_SIZE`` bytes.

Blobs in a segment are never rewritten. Deleting one punches its blocks out of the file
(``fallocate``), but only ``grace`` seconds later (``PUNCH_GRACE`` unless set), so a reader
that found the blob just before keeps reading the same bytes (within this process a deleted
blob is not found any more at once; afterwards nobody finds it: a punched range reads as a
hole). Blocks of blobs whose deletion a crash interrupted, or that were written and never named
by a row, are punched by ``sweep(named)`` at start-up, which keeps exactly the ranges the given
ids name and removes segments left with none.
"""
from __future__ import annotations

import collections
import ctypes
import io
import os
import re
import secrets
import threading
import time
from pathlib import Path

from eucalyptus.drivers.objects import libc
from eucalyptus.drivers.objects.base import BlobNotFound

SEGMENT_MAX = 64 << 10       # blobs held in memory up to this size go into segments
SEGMENT_SIZE = 64 << 20      # a segment takes new blobs until it holds this many bytes
BLOCK = 4096                 # segment blobs start on a block boundary
PUNCH_GRACE = 60.0           # seconds a deleted segment blob stays readable to open readers
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
_ID = re.compile(r"([0-9a-f]{16})-([0-9a-f]{1,12})-([0-9a-f]{1,8})")


_FALLOCATE = libc.function("fallocate", ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                            ctypes.c_int64)


def _punch(fd: int, offset: int, length: int) -> None:
    """Free the blocks of a range (it reads as zeros, a hole, afterwards)."""
    if length <= 0:
        return
    if _FALLOCATE is None or _FALLOCATE(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                        offset, length) != 0:
        os.pwrite(fd, bytes(length), offset)      # no hole punching here: zero the range


def _has_data(fd: int, offset: int) -> bool:
    """Whether the byte at ``offset`` is written data, not a punched hole."""
    try:
        return os.lseek(fd, offset, os.SEEK_DATA) == offset
    except OSError:          # ENXIO: only holes from there on
        return False


def span(length: int) -> int:
    """The bytes a blob of ``length`` occupies in its segment."""
    return -(-length // BLOCK) * BLOCK


def parse_id(blob_id: str) -> tuple[str, int, int] | None:
    """(segment name, offset, length) of a segment blob's id; None for any other id."""
    match = _ID.fullmatch(blob_id)
    return None if match is None else (match[1], int(match[2], 16), int(match[3], 16))


def is_segment_id(blob_id: str) -> bool:
    return _ID.fullmatch(blob_id) is not None


class SegmentBlob(io.RawIOBase):
    """One blob of a segment, read as if it were a file of its own: ``read``, ``seek`` and
    ``tell`` are relative to the blob; ``fileno()`` is the segment file, in which the blob
    starts at ``blob_offset``."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        super().__init__()
        self._fd = fd
        self.blob_offset = offset
        self.length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), self.length - self._position)
        if wanted <= 0:
            return 0
        data = os.pread(self._fd, wanted, self.blob_offset + self._position)
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.length}[whence]
        if base + position < 0:
            raise ValueError("negative seek position")
        self._position = base + position
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


class _Segment:
    __slots__ = ("pid", "name", "fd", "end", "writers")

    def __init__(self, name: str, fd: int) -> None:
        self.pid = os.getpid()
        self.name, self.fd, self.end, self.writers = name, fd, 0, 0


class Segments:
    def __init__(self, root: Path) -> None:
        self.dir = Path(root) / "segments"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.grace = PUNCH_GRACE
        self._lock = threading.Lock()
        self._current: _Segment | None = None
        self._doomed: collections.deque = collections.deque()   # (due, id, path, offset, span)
        self._deleted: set[str] = set()

    # -- writing ----------------------------------------------------------------------------
    def put(self, data) -> str:
        """Store ``data`` (at most ``SEGMENT_MAX`` bytes) durably; its blob id."""
        length = len(data)
        with self._lock:
            segment = self._current
            if segment is None or segment.pid != os.getpid() or \
                    segment.end + span(length) > SEGMENT_SIZE:
                segment = self._start_segment()
            offset = segment.end
            segment.end += span(length)
            segment.writers += 1
        try:
            view, done = memoryview(data).cast("B"), 0
            while done < length:
                done += os.pwrite(segment.fd, view[done:], offset + done)
            os.fdatasync(segment.fd)
        except BaseException:
            try:
                _punch(segment.fd, offset, span(length))
            except OSError:
                pass          # the start-up sweep frees it
            raise
        finally:
            self._leave(segment)
        self.reap()
        return f"{segment.name}-{offset:x}-{length:x}"

    def _start_segment(self) -> _Segment:
        """A new segment for this process (its directory entry durable); called locked."""
        name = secrets.token_hex(8)
        fd = os.open(self.dir / name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                     0o640)
        os.fsync(fd)
        directory = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        previous, self._current = self._current, _Segment(name, fd)
        if previous is not None and previous.pid == os.getpid() and previous.writers == 0:
            os.close(previous.fd)
        return self._current

    def _leave(self, segment: _Segment) -> None:
        with self._lock:
            segment.writers -= 1
            if segment is not self._current and segment.writers == 0:
                os.close(segment.fd)      # a full segment whose last writer is done

    # -- reading ----------------------------------------------------------------------------
    def locate(self, blob_id: str) -> tuple[Path, int, int]:
        """(segment path, offset, length) of a segment blob id; BlobNotFound if not one."""
        parsed = parse_id(blob_id)
        if parsed is None:
            raise BlobNotFound(blob_id)
        name, offset, length = parsed
        return self.dir / name, offset, length

    def open(self, blob_id: str) -> SegmentBlob:
        path, offset, length = self.locate(blob_id)
        if blob_id in self._deleted:
            raise BlobNotFound(blob_id)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None
        if not _has_data(fd, offset):
            os.close(fd)
            raise BlobNotFound(blob_id)
        return SegmentBlob(fd, offset, length)

    # -- removing ---------------------------------------------------------------------------
    def delete(self, blob_id: str) -> None:
        try:
            path, offset, length = self.locate(blob_id)
        except BlobNotFound:
            return
        with self._lock:
            if blob_id not in self._deleted:
                self._deleted.add(blob_id)
                self._doomed.append((time.monotonic() + self.grace, blob_id, path, offset,
                                     span(length)))
        self.reap()

    def reap(self, everything: bool = False) -> int:
        """Punch the deleted blobs whose grace has passed (all of them with ``everything``);
        how many."""
        due = []
        now = time.monotonic()
        with self._lock:
            while self._doomed and (everything or self._doomed[0][0] <= now):
                due.append(self._doomed.popleft())
        for _when, blob_id, path, offset, length in due:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                pass
            else:
                try:
                    _punch(fd, offset, length)
                finally:
                    os.close(fd)
            with self._lock:
                self._deleted.discard(blob_id)
        return len(due)

    def sweep(self, named: set[str]) -> int:
        """At start-up (no writer running): punch every range of every segment that no id in
        ``named`` covers, and remove segments left without blobs; how many ranges held
        data."""
        kept: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
        for blob_id in named:
            parsed = parse_id(blob_id)
            if parsed is not None:
                name, offset, length = parsed
                kept[name].append((offset, span(length)))
        freed = 0
        for entry in os.scandir(self.dir):
            ranges = sorted(kept.get(entry.name, ()))
            if not ranges:                   # nothing in it is named: the whole segment goes
                freed += entry.stat().st_size > 0
                os.unlink(entry.path)
                continue
            fd = os.open(entry.path, os.O_RDWR | os.O_CLOEXEC)
            try:
                size, cursor, gaps = os.fstat(fd).st_size, 0, []
                for offset, length in ranges + [(span(size), 0)]:
                    if offset > cursor:
                        gaps.append((cursor, offset - cursor))
                    cursor = max(cursor, offset + length)
                for offset, length in gaps:
                    try:
                        holds = os.lseek(fd, offset, os.SEEK_DATA) < offset + length
                    except OSError:
                        holds = False
                    if holds:
                        freed += 1
                        _punch(fd, offset, length)
            finally:
                os.close(fd)
        return freed
