"""The blob-store interface: immutable byte strings named by opaque ids.

Walrus keeps object metadata in the database and bytes here. The contract every driver keeps:

* A blob is written once through a ``BlobWriter`` and never changes afterwards. Until
  ``commit()`` returns, the bytes are invisible (no id exists for them); ``commit()`` makes
  them durable (flushed to stable storage) *before* returning the new id, so a row naming the
  id may be committed right after. ``abort()`` (or a crash) leaves nothing behind that
  ``recover()`` does not remove.
* ``put(data)`` stores a blob already whole in memory (as a writer would; a store may keep
  small ones more cheaply) and returns its id once durable.
* ``open(id)`` returns a binary file object positioned at 0 that keeps reading the same bytes
  even if the blob is deleted while open (readers are never cut off by a concurrent delete).
  A missing id raises ``BlobNotFound``. With the ``sendfile`` flag its ``fileno()`` is a real
  file in which the blob starts at ``blob_start(handle)`` (several blobs may share a file).
* ``delete(id)`` is idempotent: deleting a missing blob is not an error.
* ``concatenate(ids)`` and ``copy_range(id, start, length)`` make *new* blobs from existing
  ones without holding them in memory; the sources are unchanged.
* ``recover()`` runs at start-up, before any writer exists: it removes half-written data left
  by a crash and returns how many were removed. ``remove_unnamed(ids)``, also at start-up,
  removes every committed blob not among ``ids`` (those no database row names);
  ``blob_ids()`` lists the committed blobs that have ids of their own (a store may also keep
  blobs it cannot list, which ``remove_unnamed`` covers).
* Capabilities are flags, not probes: ``sendfile`` means ``open()`` returns a real file whose
  ``fileno()`` the server may hand to ``sendfile(2)``; ``splice`` means a writer can take
  bytes straight from a socket (``splice_from``) and show what it has written (``mapped``).
"""
from __future__ import annotations

import abc
from contextlib import AbstractContextManager
from typing import BinaryIO, Callable, Iterator


class BlobNotFound(Exception):
    """No blob has this id (it was never committed, or was deleted)."""


class BlobWriter(abc.ABC):
    """One blob being written. Not shared between tasks."""

    size: int = 0

    @abc.abstractmethod
    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``."""

    def splice_from(self, fd: int, count: int, wait: Callable[[], None],
                    progress: Callable[[int], None]) -> None:
        """Append ``count`` bytes read from the non-blocking socket ``fd`` without copying
        them through this process (stores with the ``splice`` flag). ``wait()`` is called
        whenever the socket has nothing to read, and returns once it may have (or raises);
        ``progress(size)`` after each stretch is written, with the blob's size so far. The
        socket's end before ``count`` bytes raises EOFError."""
        raise NotImplementedError

    def mapped(self, start: int, end: int) -> AbstractContextManager[memoryview]:
        """The bytes written so far from ``start`` to ``end``, as a read-only view valid
        inside the ``with`` block (stores with the ``splice`` flag)."""
        raise NotImplementedError

    @abc.abstractmethod
    def commit(self) -> str:
        """Make the blob durable and visible; its new id. The writer is spent afterwards."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop what was written. Idempotent; harmless after ``commit``."""


def blob_start(handle: BinaryIO) -> int:
    """Where the blob ``open`` returned starts in the file of ``handle.fileno()``."""
    return getattr(handle, "blob_offset", 0)


class BlobStore(abc.ABC):
    sendfile: bool = False
    splice: bool = False

    @abc.abstractmethod
    def writer(self) -> BlobWriter:
        """A new, empty blob writer."""

    def put(self, data: bytes | memoryview) -> str:
        """Store ``data`` durably as a new blob; its id."""
        writer = self.writer()
        try:
            writer.write(data)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    @abc.abstractmethod
    def open(self, blob_id: str) -> BinaryIO:
        """The blob for reading (see the module contract); BlobNotFound when missing."""

    @abc.abstractmethod
    def size(self, blob_id: str) -> int:
        """The blob's length in bytes; BlobNotFound when missing."""

    @abc.abstractmethod
    def delete(self, blob_id: str) -> None:
        """Remove the blob; idempotent."""

    @abc.abstractmethod
    def concatenate(self, blob_ids: list[str]) -> str:
        """A new blob holding the given blobs one after the other; its id."""

    @abc.abstractmethod
    def copy_range(self, blob_id: str, start: int = 0, length: int | None = None) -> str:
        """A new blob holding ``length`` bytes of ``blob_id`` from ``start`` (to the end when
        ``length`` is None); its id."""

    @abc.abstractmethod
    def recover(self) -> int:
        """Remove what a crash left half-written; the number of items removed."""

    @abc.abstractmethod
    def blob_ids(self) -> Iterator[str]:
        """The ids of committed blobs (see the module contract), in no particular order."""

    def remove_unnamed(self, named: set[str]) -> int:
        """At start-up: remove every committed blob whose id is not in ``named``; how many
        (a store that packs blobs together may count neighbours removed together once)."""
        removed = 0
        for blob_id in list(self.blob_ids()):
            if blob_id not in named:
                self.delete(blob_id)
                removed += 1
        return removed

    def close(self) -> None:
        """Finish any work still running in the background (none by default)."""
