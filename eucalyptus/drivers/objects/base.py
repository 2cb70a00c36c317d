"""The blob-store interface: immutable byte strings named by opaque ids.

Walrus keeps object metadata in the database and bytes here. The contract every driver keeps:

* A blob is written once through a ``BlobWriter`` and never changes afterwards. Until
  ``commit()`` returns, the bytes are invisible (no id exists for them); ``commit()`` makes
  them durable (flushed to stable storage) *before* returning the new id, so a row naming the
  id may be committed right after. ``abort()`` (or a crash) leaves nothing behind that
  ``recover()`` does not remove.
* ``open(id)`` returns a binary file object positioned at 0 that keeps reading the same bytes
  even if the blob is deleted while open (readers are never cut off by a concurrent delete).
  A missing id raises ``BlobNotFound``.
* ``delete(id)`` is idempotent: deleting a missing blob is not an error.
* ``concatenate(ids)`` and ``copy_range(id, start, length)`` make *new* blobs from existing
  ones without holding them in memory; the sources are unchanged.
* ``recover()`` runs at start-up, before any writer exists: it removes half-written data left
  by a crash and returns how many were removed. ``blob_ids()`` lists committed blobs (for a
  sweep of blobs no database row names).
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


class BlobStore(abc.ABC):
    sendfile: bool = False
    splice: bool = False

    @abc.abstractmethod
    def writer(self) -> BlobWriter:
        """A new, empty blob writer."""

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
        """Every committed blob's id, in no particular order."""

    def close(self) -> None:
        """Finish any work still running in the background (none by default)."""
