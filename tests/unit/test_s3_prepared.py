"""Prepared statements (services/s3/prepared.py): compiled once, run in the session's
transaction, values converted both ways by the column types."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import (Boolean, Column, DateTime, Integer, MetaData, String, Table, bindparam,
                        insert, select, text, update)

from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.services.s3.prepared import Prepared

meta = MetaData()
things = Table("things", meta, Column("id", Integer, primary_key=True),
               Column("name", String(20)), Column("on", Boolean),
               Column("at", DateTime, nullable=True))

ADD = Prepared(lambda: insert(things).values(name=bindparam("n"), on=bindparam("o"),
                                             at=bindparam("a")))
BY_NAME = Prepared(lambda: select(things.c.name, things.c.on, things.c.at)
                   .where(things.c.name == bindparam("n")))
SWITCH_OFF = Prepared(lambda: update(things).where(things.c.on.is_(True)).values(on=False))


@pytest.fixture()
def db(tmp_path):
    database = Database(sqlite_url(tmp_path / "p.db"), migrate=False)
    meta.create_all(database.engine)
    yield database
    database.dispose()


def test_values_round_trip_through_the_column_types(db):
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123456)
    with db.session() as session:
        assert ADD.run(session, n="a", o=True, a=when) == 1
        ADD.run(session, n="b", o=False, a=None)
    with db.session() as session:
        assert BY_NAME.one(session, n="a") == ("a", True, when)
        assert BY_NAME.rows(session, n="b") == [("b", False, None)]
        assert BY_NAME.one(session, n="zzz") is None


def test_statement_literals_need_no_parameters(db):
    with db.session() as session:
        ADD.run(session, n="a", o=True, a=None)
        ADD.run(session, n="b", o=True, a=None)
        assert SWITCH_OFF.run(session) == 2
        assert SWITCH_OFF.run(session) == 0


def test_runs_inside_the_sessions_transaction(db):
    session = db._sessions()
    ADD.run(session, n="gone", o=True, a=None)
    assert BY_NAME.one(session, n="gone") is not None        # visible to its own session
    session.rollback()
    session.close()
    with db.session() as session:
        assert BY_NAME.one(session, n="gone") is None
        session.execute(text("INSERT INTO things (name, \"on\") VALUES ('orm', 1)"))
        assert BY_NAME.one(session, n="orm") == ("orm", True, None)   # and sees ORM writes


def test_a_missing_parameter_is_an_error(db):
    with db.session() as session, pytest.raises(KeyError):
        BY_NAME.one(session)


def test_reads_outside_a_transaction_need_no_pooled_connection(db):
    with db.session() as session:
        ADD.run(session, n="first", o=True, a=None)
    reader = db._sessions()
    assert BY_NAME.one(reader, n="first") == ("first", True, None)
    checked_out = db.engine.pool.checkedout()           # this thread's reader, kept
    assert BY_NAME.rows(reader, n="first") == [("first", True, None)]
    assert not reader.in_transaction()                   # nothing to commit or give back
    assert db.engine.pool.checkedout() == checked_out == 1
    with db.session() as writer:                         # a commit elsewhere is seen at once
        ADD.run(writer, n="second", o=False, a=None)
    assert BY_NAME.one(reader, n="second") == ("second", False, None)
    ADD.run(reader, n="mine", o=True, a=None)           # a write opens the session's own
    assert reader.in_transaction()
    assert BY_NAME.one(reader, n="mine") is not None     # ... and its reads follow it there
    with db.session() as other:
        assert BY_NAME.one(other, n="mine") is None      # uncommitted: nobody else sees it
    reader.rollback()
    reader.close()
