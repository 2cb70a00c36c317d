"""What S3 handlers need of the component serving them: its blob store, work to do after the
request's transaction commits, and per-key write locks.

* ``blob_store(ctx)``: the component's ``BlobStore``.
* ``defer_blob_delete(ctx, blob)``: remove a blob once the transaction that stopped naming it
  has committed (a crash in between leaves an unnamed blob, which the start-up sweep removes).
* ``after_commit(ctx)``: the callables the front door runs after a successful commit.
* ``lock_key(session, bucket, key)``: serialise writers of one key until the transaction ends
  (PostgreSQL: a transaction advisory lock; SQLite: take the database write lock now, so the
  reads that follow see the newest committed state; writers of one process first queue on
  a thread lock).
* ``release(ctx)``: end the request's transaction early (before a long upload), so no
  database connection or snapshot is held while bytes stream in.
"""
from __future__ import annotations

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
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_PROCESS_WRITER = threading.Lock()


def _hold_process_writer(session: Session) -> None:
    """Queue this process' SQLite writers on a thread lock, held until the session's
    transaction ends, so they take turns instead of polling the database lock (whose busy
    handler sleeps up to 100 ms between tries). Only taken by a session holding no database
    transaction yet, so a thread never waits for it while holding the database lock."""
    if session.info.get("process_writer"):
        return
    _PROCESS_WRITER.acquire()
    session.info["process_writer"] = True
    if not session.info.get("process_writer_hooked"):
        session.info["process_writer_hooked"] = True
        event.listen(session, "after_transaction_end", _transaction_ended)


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None and session.info.pop("process_writer", False):
        _PROCESS_WRITER.release()


def release(ctx) -> None:
    ctx.db.commit()
