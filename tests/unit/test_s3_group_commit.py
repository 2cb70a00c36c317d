"""Group commit (services/s3/group_commit.py): writes queued in one turn of the loop share one
transaction on a real SQLite database; a failing write fails alone and is undone; the others
commit and run their after-commit actions; a cancelled waiter does not stop its write."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from eucalyptus.aws.dispatch import RequestContext
from eucalyptus.db import all_tables  # noqa: F401  (every table on Base.metadata)
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.objects import Bucket
from eucalyptus.db.schema import Base
from eucalyptus.services.s3 import group_commit
from eucalyptus.services.s3.storage import after_commit, lock_key


@pytest.fixture()
def db(tmp_path):
    database = Database(sqlite_url(tmp_path / "g.db"), migrate=False)
    Base.metadata.create_all(database.engine)
    commits = []
    event.listen(database.engine, "commit", lambda conn: commits.append(1))
    database.commits = commits
    yield database
    database.dispose()


def _ctx(db) -> RequestContext:
    return RequestContext(request_id="r", service="s3", operation="PutObject", region="r1",
                          db=db._sessions(), component=SimpleNamespace(db=db),
                          extra={"headers": {}})


def _adding(name: str, done: list):
    def work(view):
        lock_key(view.db, name, "k")
        view.db.add(Bucket(name=name, account_id="123456789012"))
        view.db.flush()
        after_commit(view).append(lambda: done.append(name))
        return name
    return work


def _names(db) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(Bucket.name)))


def test_writes_of_one_turn_share_one_commit(db):
    done, undone = [], []

    async def main():
        return await asyncio.gather(*(
            group_commit.write(_ctx(db), _adding(f"b{i}", done), lambda: undone.append(i))
            for i in range(5)))

    db.commits.clear()
    assert asyncio.run(main()) == [f"b{i}" for i in range(5)]
    assert db.commits == [1]                 # one transaction for the five
    assert _names(db) == {f"b{i}" for i in range(5)}
    assert done == [f"b{i}" for i in range(5)] and undone == []


def test_a_failing_write_fails_alone_and_is_undone(db):
    done, undone = [], []

    def refuse(view):
        view.db.add(Bucket(name="bad", account_id="123456789012"))
        view.db.flush()
        raise ValueError("refused")

    async def main():
        return await asyncio.gather(
            group_commit.write(_ctx(db), _adding("x1", done), lambda: undone.append("x1")),
            group_commit.write(_ctx(db), refuse, lambda: undone.append("bad")),
            group_commit.write(_ctx(db), _adding("x2", done), lambda: undone.append("x2")),
            return_exceptions=True)

    first, failed, last = asyncio.run(main())
    assert (first, last) == ("x1", "x2")
    assert isinstance(failed, ValueError)
    assert _names(db) == {"x1", "x2"}        # the refused write left nothing
    assert undone == ["bad"]
    assert sorted(done) == ["x1", "x2"]      # each after-commit action ran once


def test_a_failing_commit_runs_each_write_alone(db):
    undone = []

    def conflicting(view):                   # the same name twice: the commit's flush fails
        view.db.add(Bucket(name="same", account_id="123456789012"))
        return "same"

    async def main():
        return await asyncio.gather(
            group_commit.write(_ctx(db), conflicting, lambda: undone.append(1)),
            group_commit.write(_ctx(db), conflicting, lambda: undone.append(2)),
            return_exceptions=True)

    results = asyncio.run(main())
    assert results[0] == "same" and isinstance(results[1], Exception)   # alone, one wins
    assert undone == [2]
    assert _names(db) == {"same"}


def test_a_cancelled_caller_still_has_its_write_committed(db):
    done = []

    async def main():
        task = asyncio.ensure_future(group_commit.write(_ctx(db), _adding("c1", done),
                                                        lambda: done.append("undone")))
        await asyncio.sleep(0)               # queued
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)               # the flush's turn

    asyncio.run(main())
    assert _names(db) == {"c1"} and done == ["c1"]


def test_the_callers_own_transaction_ends_first(db):
    ctx = _ctx(db)
    ctx.db.execute(select(Bucket.name)).all()
    assert ctx.db.in_transaction()

    async def main():
        return await group_commit.write(ctx, _adding("own", []), lambda: None)

    assert asyncio.run(main()) == "own"
    assert not ctx.db.in_transaction()


def test_other_databases_commit_each_write_alone(db, monkeypatch):
    monkeypatch.setattr(db.engine.dialect, "name", "postgresql")   # only the batching rule
    db.commits.clear()

    def adding(name):
        def work(view):
            view.db.add(Bucket(name=name, account_id="123456789012"))
            return name
        return work

    async def main():
        return await asyncio.gather(*(
            group_commit.write(_ctx(db), adding(f"p{i}"), lambda: None) for i in range(3)))

    assert asyncio.run(main()) == ["p0", "p1", "p2"]
    assert len(db.commits) == 3 and _names(db) == {"p0", "p1", "p2"}
