"""Group commit: the small writes of requests waiting at the same moment share one transaction.

A small PutObject spends most of its database time not on its two statements but on starting
and committing a write transaction (taking the writer lock, BEGIN IMMEDIATE, writing the WAL
frames, COMMIT). ``await write(ctx, work, undo)`` queues ``work`` on the running event loop; on
the loop's next turn every queued piece of work runs, in order, in one transaction of a session
of its own (``work(view)`` gets a copy of ``ctx`` whose ``db`` is that session and whose
``extra`` starts empty), and one commit covers them all. The caller's own transaction
(``ctx.db``) is committed first, so no request holds two database connections. A request thus
waits one turn of the loop, and the more requests arrive together the fewer commits they cost.

If a piece of work raises, or the commit fails, the transaction rolls back and each piece runs
again alone, so only the writes that fail, fail: their callers get the exception and their
``undo`` runs (a PutObject removes the blob it wrote). Work must therefore only touch the
database through its session; actions it registers to run after commit
(``storage.after_commit``) run once its own commit succeeded. The outcome does not depend on
the caller still waiting: a request cancelled meanwhile still has its write committed or
undone.

With SQLite (one writer at a time, whatever the keys) a batch takes any number of writes. Other
databases lock per key, so there each write commits alone: two batches taking the locks of the
same keys in different orders could otherwise deadlock.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from typing import Any, Callable

log = logging.getLogger(__name__)

_QUEUES: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, _Queue]]" = (
    weakref.WeakKeyDictionary())     # by loop, then by database


class _Item:
    __slots__ = ("ctx", "work", "undo", "future")

    def __init__(self, ctx, work, undo, future) -> None:
        self.ctx, self.work, self.undo, self.future = ctx, work, undo, future


class _Queue:
    def __init__(self, loop: asyncio.AbstractEventLoop, database: Any) -> None:
        self.loop = loop
        self.sessions = database._sessions
        self.batches = database.engine.dialect.name == "sqlite"
        self.pending: list[_Item] = []

    def add(self, item: _Item) -> None:
        if not self.pending:
            self.loop.call_soon(self.flush)
        self.pending.append(item)

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if self.batches and len(pending) > 1:
            if self._commit(pending, alone=False):
                return
        for item in pending:
            self._commit([item], alone=True)

    def _commit(self, items: list[_Item], alone: bool) -> bool:
        """Run ``items`` in one transaction and settle them; False (nothing settled) if that
        failed and they are to run again one by one."""
        session = self.sessions()
        try:
            views = [dataclasses.replace(item.ctx, db=session, extra={}) for item in items]
            results = [item.work(view) for item, view in zip(items, views)]
            session.commit()
        except BaseException as exc:
            session.rollback()
            session.close()
            if not alone:
                return False
            _fail(items[0], exc)
            if not isinstance(exc, Exception):
                raise
            return True
        session.close()
        for item, view, result in zip(items, views, results):
            for action in view.extra.get("after_commit", ()):
                try:
                    action()
                except OSError as exc:
                    log.warning("after-commit cleanup failed: %s", exc)
            if not item.future.done():
                item.future.set_result(result)
        return True


def _fail(item: _Item, exc: BaseException) -> None:
    try:
        item.undo()
    except OSError as cleanup:
        log.warning("cleanup after a failed write failed: %s", cleanup)
    if not item.future.done():
        item.future.set_exception(exc)


async def write(ctx, work: Callable[[Any], Any], undo: Callable[[], None]) -> Any:
    """Run ``work(view)`` in a shared transaction (``view``: ``ctx`` with the transaction's
    session as ``db``); its result once committed. If it fails, ``undo()`` runs and the
    exception is raised here."""
    if ctx.db.in_transaction():      # the caller's own ends: it holds no connection meanwhile
        ctx.db.commit()
    loop = asyncio.get_running_loop()
    queues = _QUEUES.setdefault(loop, {})
    database = ctx.component.db
    queue = queues.get(database)
    if queue is None:
        queue = queues[database] = _Queue(loop, database)
    future = loop.create_future()
    queue.add(_Item(ctx, work, undo, future))
    return await asyncio.shield(future)
