"""Blobs as files: ``ROOT/blobs/<2 hex>/<id>``; small ones stored whole (``put``) are packed
into segment files instead (``segments``: ``ROOT/segments/<name>``, ids ``<name>-<offset>-
<length>``).

A writer creates its file at the blob's final path with mode ``0o200`` (write-only: "being
written") and commits by switching it to ``0o640`` and fsyncing it, so the bytes, the mode and
(on Linux journaling filesystems, which commit a new file's directory entry with the file) its
name are durable together, with one fsync and no rename. A shard directory is made once, and
the directory holding it fsynced then. Only committed blobs (mode with the owner read bit) are
listed by ``blob_ids``; ``recover()`` removes the files of writers a crash interrupted (and
anything in the ``tmp/`` directory of earlier versions). Until ``commit`` returns no caller
knows a blob's id, and Walrus names a blob in a row only after that, so a reader never meets a
half-written blob. The ``blobs`` directory carries ext4's top-directory flag (``chattr +T``), so
the filesystem spreads its shard directories over block groups with free inodes as it does
top-level directories, rather than next to a parent whose group may be crowded: a new file's
inode is found at once (on a long-used filesystem, creating a file in a crowded group costs
hundreds of microseconds of inode-bitmap search, more than all the rest of a small PUT's
storage work). While a large blob is written, writeback of each further 8 MiB is started
at once (``sync_file_range``), so the disk works while bytes arrive and the commit's fsync is
short. ``splice_from`` moves an upload from its socket into the file through a pipe
(``splice(2)``), and ``mapped`` shows the written bytes from the page cache (``mmap``), so an
upload's bytes are never copied into this process: the hashing threads read them in place.
Blob files are never modified; a reader's open descriptor keeps the bytes of a blob deleted
under it. Copies use ``copy_file_range(2)`` (in-kernel, reflinks where the filesystem
can), never a buffer of the whole blob. Removing a big blob makes the kernel drop its cached
pages, tens of milliseconds for 256 MiB: ``delete`` therefore moves a blob of at least
``REAP_SIZE`` bytes into ``tmp/`` (a rename, so it is gone from ``blobs/`` at once) and a
background thread unlinks it there; a crash in between leaves it in ``tmp/``, which
``recover()`` empties.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import mmap
import os
import secrets
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from eucalyptus.drivers.objects import libc
from eucalyptus.drivers.objects.base import BlobNotFound, BlobStore, BlobWriter
from eucalyptus.drivers.objects.segments import SEGMENT_MAX, Segments, is_segment_id

COPY_STEP = 1 << 30
WRITING_MODE = 0o200          # a blob file being written (owner may write, nobody read)
COMMITTED_MODE = 0o640
FLUSH_STEP = 8 << 20          # a writer starts writeback every this many bytes
SYNC_FILE_RANGE_WRITE = 2
REAP_SIZE = 8 << 20           # blobs at least this big are unlinked by the reaper thread
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_TOPDIR_FL = 0x00020000
PIPE_SIZE = 1 << 20           # bytes a splice moves at a time (the pipe's capacity)


def new_blob_id() -> str:
    return secrets.token_hex(16)


_SYNC_FILE_RANGE = libc.function("sync_file_range", ctypes.c_int, ctypes.c_int64,
                                  ctypes.c_int64, ctypes.c_uint)


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range to disk (``sync_file_range``), so the final
    fdatasync of a large blob has little left to do. Durability still rests on that fdatasync."""
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, offset, length, SYNC_FILE_RANGE_WRITE)


def _mark_top_directory(path: Path) -> None:
    """Set the top-directory inode flag on ``path`` (ext2/3/4; elsewhere nothing happens), so
    subdirectories made in it are placed as the filesystem places top-level ones."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        flags = bytearray(8)
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags)
        value = int.from_bytes(flags[:4], "little")
        if not value & FS_TOPDIR_FL:
            fcntl.ioctl(fd, FS_IOC_SETFLAGS, (value | FS_TOPDIR_FL).to_bytes(8, "little"))
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path) -> bool:
    """Remove a file; whether it was there."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _copy_fd(src: int, dst: int, offset: int, length: int) -> None:
    """Copy ``length`` bytes of ``src`` from ``offset`` to the current end of ``dst``."""
    remaining = length
    while remaining > 0:
        try:
            done = os.copy_file_range(src, dst, min(remaining, COPY_STEP), offset)
        except OSError:
            done = os.sendfile(dst, src, offset, min(remaining, COPY_STEP))
        if done <= 0:
            raise OSError(f"short copy: {remaining} bytes left")
        offset += done
        remaining -= done


class FsBlobWriter(BlobWriter):
    def __init__(self, store: "FsBlobStore"):
        self.store = store
        self.blob_id = new_blob_id()
        self.path = store.path_of(self.blob_id)
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC     # readable: ``mapped``
        try:
            self.fd: int | None = os.open(self.path, flags, WRITING_MODE)
        except FileNotFoundError:
            store.make_shard(self.path.parent)
            self.fd = os.open(self.path, flags, WRITING_MODE)
        self.size = 0
        self.flushed = 0          # bytes whose writeback has been started

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
            self.size += written
        self._wrote()

    def _wrote(self) -> None:
        if self.size - self.flushed >= FLUSH_STEP:     # start writeback, do not wait for it
            _start_writeback(self.fd, self.flushed, self.size - self.flushed)
            self.flushed = self.size

    def splice_from(self, fd: int, count: int, wait: Callable[[], None],
                    progress: Callable[[int], None]) -> None:
        pipe_out, pipe_in = os.pipe2(os.O_CLOEXEC)
        try:
            try:
                capacity = fcntl.fcntl(pipe_in, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:          # over the system's limit: the pipe's default size
                capacity = fcntl.fcntl(pipe_in, fcntl.F_GETPIPE_SZ)
            left = count
            while left > 0:
                try:      # the pipe is empty here, so only the socket can make this wait
                    moved = os.splice(fd, pipe_in, min(left, capacity), flags=os.SPLICE_F_MOVE)
                except BlockingIOError:
                    wait()
                    continue
                if moved == 0:
                    raise EOFError(f"the socket ended {left} bytes short")
                left -= moved
                while moved > 0:
                    done = os.splice(pipe_out, self.fd, moved, flags=os.SPLICE_F_MOVE)
                    moved -= done
                    self.size += done
                self._wrote()
                progress(self.size)
        finally:
            os.close(pipe_in)
            os.close(pipe_out)

    @contextlib.contextmanager
    def mapped(self, start: int, end: int) -> Iterator[memoryview]:
        base = start - start % mmap.ALLOCATIONGRANULARITY
        with mmap.mmap(self.fd, end - base, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE,
                       prot=mmap.PROT_READ, offset=base) as region:
            view = memoryview(region)[start - base:]
            try:
                yield view
            finally:
                view.release()

    def append_blob(self, blob_id: str, start: int = 0, length: int | None = None) -> None:
        """Append (part of) an existing blob without reading it into memory."""
        path, base, total = self.store.source_of(blob_id)
        src = os.open(path, os.O_RDONLY)
        try:
            total = os.fstat(src).st_size if total is None else total
            length = total - start if length is None else length
            if start < 0 or length < 0 or start + length > total:
                raise ValueError("range outside the blob")
            _copy_fd(src, self.fd, base + start, length)
            self.size += length
        finally:
            os.close(src)

    def commit(self) -> str:
        if self.fd is None:
            raise RuntimeError("writer already closed")
        fd, self.fd = self.fd, None
        try:
            os.fchmod(fd, COMMITTED_MODE)
            os.fsync(fd)          # data, size and mode (and the new name, see the docstring)
        except BaseException:
            os.close(fd)
            _unlink(self.path)
            raise
        os.close(fd)
        return self.blob_id

    def abort(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            _unlink(self.path)

    def __del__(self) -> None:   # a writer dropped without commit leaves no temp file
        if getattr(self, "fd", None) is not None:
            self.abort()


class FsBlobStore(BlobStore):
    sendfile = True
    splice = True

    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.tmp = self.root / "tmp"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._reaper: ThreadPoolExecutor | None = None
        self.segments = Segments(self.root)
        _mark_top_directory(self.blobs)
        self._make_shards()

    def _make_shards(self) -> None:
        """Make every missing shard directory up front (one directory fsync for them all), so
        no writer of a new store stops to create one and fsync its parent."""
        made = False
        for first in "0123456789abcdef":
            for second in "0123456789abcdef":
                try:
                    (self.blobs / (first + second)).mkdir()
                    made = True
                except FileExistsError:
                    pass
        if made:
            _fsync_dir(self.blobs)

    def make_shard(self, shard: Path) -> None:
        """Make a shard directory and make its name durable (once per shard)."""
        try:
            shard.mkdir()
        except FileExistsError:
            return
        _fsync_dir(shard.parent)

    def path_of(self, blob_id: str) -> Path:
        if not blob_id or not all(c in "0123456789abcdef" for c in blob_id):
            raise BlobNotFound(blob_id)
        return self.blobs / blob_id[:2] / blob_id

    def writer(self) -> FsBlobWriter:
        return FsBlobWriter(self)

    def put(self, data) -> str:
        if 0 < len(data) <= SEGMENT_MAX:
            return self.segments.put(data)
        return super().put(data)

    def source_of(self, blob_id: str) -> tuple[Path, int, int | None]:
        """(file, offset of the blob in it, length or None for "to the end of the file")."""
        if is_segment_id(blob_id):
            return self.segments.locate(blob_id)
        return self.path_of(blob_id), 0, None

    def open(self, blob_id: str) -> BinaryIO:
        if is_segment_id(blob_id):
            return self.segments.open(blob_id)
        try:
            return open(self.path_of(blob_id), "rb", buffering=0)
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    def size(self, blob_id: str) -> int:
        if is_segment_id(blob_id):
            with self.segments.open(blob_id) as blob:
                return blob.length
        try:
            return self.path_of(blob_id).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    def delete(self, blob_id: str) -> None:
        if is_segment_id(blob_id):
            self.segments.delete(blob_id)
            return
        try:
            path = self.path_of(blob_id)
            if os.stat(path).st_size < REAP_SIZE:
                os.unlink(path)
                return
            doomed = self.tmp / blob_id
            os.rename(path, doomed)
        except (FileNotFoundError, BlobNotFound):
            return
        if self._reaper is None:
            self._reaper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-reaper")
        self._reaper.submit(_unlink, doomed)

    def close(self) -> None:
        """Finish the removals handed to the reaper thread, and those of segment blobs still
        in their grace period."""
        self.segments.reap(everything=True)
        if self._reaper is not None:
            self._reaper.shutdown(wait=True)
            self._reaper = None

    def concatenate(self, blob_ids: list[str]) -> str:
        writer = self.writer()
        try:
            for blob_id in blob_ids:
                writer.append_blob(blob_id)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def copy_range(self, blob_id: str, start: int = 0, length: int | None = None) -> str:
        writer = self.writer()
        try:
            writer.append_blob(blob_id, start, length)
            return writer.commit()
        except FileNotFoundError:
            writer.abort()
            raise BlobNotFound(blob_id) from None
        except BaseException:
            writer.abort()
            raise

    def recover(self) -> int:
        leftovers = [entry.path for entry in os.scandir(self.tmp)]
        leftovers += self._blob_files(committed=False)
        return sum(_unlink(path) for path in leftovers)

    def _blob_files(self, committed: bool) -> Iterator[str]:
        """Paths of committed blob files, or of those still (or forever) being written."""
        for shard in os.scandir(self.blobs):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except FileNotFoundError:
                    continue
                if bool(mode & stat.S_IRUSR) == committed:
                    yield entry.path

    def blob_ids(self) -> Iterator[str]:
        for path in self._blob_files(committed=True):
            yield os.path.basename(path)

    def remove_unnamed(self, named: set[str]) -> int:
        return super().remove_unnamed(named) + self.segments.sweep(named)
