"""Request threads (walrus.offload) and the per-process SQLite writer queue (s3.storage)."""
from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import text

from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.services.s3 import storage
from eucalyptus.walrus.offload import ThreadLoops


def test_thread_loops_run_coroutines_off_the_callers_loop():
    pool = ThreadLoops(size=3)
    main = threading.get_ident()

    async def job(n):
        await asyncio.sleep(0.01)
        return n, threading.get_ident()

    async def drive():
        return await asyncio.gather(*(pool.run(lambda n=n: job(n)) for n in range(6)))

    try:
        results = asyncio.run(drive())
    finally:
        pool.close()
    assert [n for n, _ in results] == list(range(6))
    assert all(ident != main for _, ident in results)
    assert len({ident for _, ident in results}) <= 3


def test_thread_loops_raise_the_coroutines_exception():
    pool = ThreadLoops(size=1)

    async def boom():
        raise KeyError("x")

    async def drive():
        await pool.run(boom)

    try:
        with pytest.raises(KeyError):
            asyncio.run(drive())
    finally:
        pool.close()


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_writer_queue_is_released_when_the_transaction_ends(tmp_path, end):
    db = Database(sqlite_url(tmp_path / "w.db"), migrate=False)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v INTEGER)"))
        session = db._sessions()
        storage.lock_key(session, "b", "k")
        assert storage._PROCESS_WRITER.locked()
        storage.lock_key(session, "b", "k2")          # the same transaction: no second take
        session.execute(text("INSERT INTO t VALUES (1)"))
        getattr(session, end)()
        assert not storage._PROCESS_WRITER.locked()
        other = db._sessions()
        storage.lock_key(other, "b", "k")               # the next writer gets its turn
        assert storage._PROCESS_WRITER.locked()
        other.close()
        assert not storage._PROCESS_WRITER.locked()
        session.close()
    finally:
        db.dispose()
