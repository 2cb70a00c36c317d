"""What S3 handlers need of the component serving them: its blob store, work to do after the
request's transaction commits, and per-key write locks.

* ``blob_store(ctx)``: the component's ``BlobStore``.
* ``defer_blob_delete(ctx, blob)``: remove a blob once the transaction that stopped naming it
  has committed (a crash in between leaves an unnamed blob, which the start-up sweep removes).
* ``after_commit(ctx)``: the callables the front door runs after a successful commit.
* ``lock_key(session, bucket, key)``: serialise writers of one key until the transaction ends
  (PostgreSQL: a transaction advisory lock; SQLite: take the database write lock now, so the
  reads that follow see the newest committed state; writers first queue on a thread lock and
  a file lock next to the database).
* ``release(ctx)``: end the request's transaction early (before a long upload), so no
  database connection or snapshot is held while bytes stream in; ``release_before(ctx,
  body)`` does so unless the body is already in memory.
"""
from __future__ import annotations

import fcntl
import os
import threading
import zlib
from typing import Callable

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from eucalyptus.drivers.objects.base import BlobStore


def blob_store(ctx) -> BlobStore:
    return ctx.component.blobs


def after_commit(ctx) -> list[Callable[[], None]]:
    return ctx.extra.setdefault("after_commit", [])


def defer_blob_delete(ctx, blob: str | None) -> None:
    if blob:
        store = blob_store(ctx)
        after_commit(ctx).append(lambda: store.delete(blob))


def lock_key(session: Session, bucket: str, key: str) -> None:
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        token = zlib.crc32(f"{bucket}/{key}".encode()) - (1 << 31)
        connection.execute(text("SELECT pg_advisory_xact_lock(7377, :k)"), {"k": token})
    elif dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        if not raw.in_transaction:
            _hold_process_writer(session)
            raw.execute("BEGIN IMMEDIATE")


_PROCESS_WRITER = threading.Lock()
_LOCK_FILES: dict[str, int] = {}


def _writers_file(session: Session) -> int | None:
    """An open descriptor of ``DB.writers`` next to the SQLite file (None in memory)."""
    database = session.get_bind().url.database
    if not database or database == ":memory:":
        return None
    owner = f"{os.getpid()}:{database}"     # a forked child opens its own (flock is per open)
    fd = _LOCK_FILES.get(owner)
    if fd is None:
        fd = os.open(f"{database}.writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _LOCK_FILES[owner] = fd
    return fd


def _hold_process_writer(session: Session) -> None:
    """Queue SQLite writers, the threads of this process on a thread lock and the processes on
    ``flock`` of a file next to the database, held until the session's transaction ends: they
    take turns and wake at once, instead of polling the database lock (whose busy handler
    sleeps up to 100 ms between tries). Only taken by a session holding no database
    transaction yet, so nobody waits for it while holding the database lock."""
    if session.info.get("process_writer") is not None:
        return
    _PROCESS_WRITER.acquire()
    try:
        fd = _writers_file(session)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        _PROCESS_WRITER.release()
        raise
    session.info["process_writer"] = fd if fd is not None else -1


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:
        fd = session.info.pop("process_writer", None)
        if fd is not None:
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_UN)
            _PROCESS_WRITER.release()


# Every session's transaction end releases the writer queue if that session holds it (other
# sessions pay one dictionary lookup); one listener for the process, made at import so it
# precedes every session.
event.listen(Session, "after_transaction_end", _transaction_ended)


def release(ctx) -> None:
    ctx.db.commit()


def release_before(ctx, body) -> None:
    """``release`` before receiving ``body``, unless it is already in memory (``bytes``):
    then the blob is written at once and holding the connection meanwhile costs nothing."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        release(ctx)
