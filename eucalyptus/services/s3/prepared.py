"""Prepared statements for the object hot path: SQLAlchemy Core compiled once, run on the
session's own DBAPI connection.

PUT, GET and HEAD of one object run a handful of small statements each. Through the ORM every
one of them costs far more CPU (cache key, compilation lookup, result and identity handling)
than the database needs to answer it. ``Prepared(build)`` holds a Core statement made by
``build()`` (bind parameters by name, ``bindparam``) and compiles it once per dialect into
its SQL text, the order of its parameters and the converters of its bound values and result
columns (the types' own processors, so a DateTime or Boolean reads back as the ORM would).

``prepared.rows(session, **params)`` runs it inside the session's current transaction (the
connection ``session.connection()`` holds, so ORM statements of the same request see its
writes and the request's commit covers it) and returns the converted rows as tuples;
``one(...)`` the first row or None; ``run(...)`` the affected row count. Only plain scalar
parameters are supported (no expanding IN lists).

A SELECT of a session that has no transaction open, on SQLite, runs instead on a connection
this thread keeps for such reads: SQLite reads outside a transaction see the newest committed
state either way (the driver opens a transaction only before a write), and a request that
only reads (the credential and bucket of every PUT and GET) then never checks a connection out
of the pool, nor commits and returns it.
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Callable

from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Select


class _Readers(threading.local):
    def __init__(self) -> None:
        self.by_engine: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_READERS = _Readers()


def _reader(engine) -> Any:
    """This thread's read connection (DBAPI) to ``engine``'s SQLite database."""
    found = _READERS.by_engine.get(engine)
    if found is None or found[0] != os.getpid():      # (a forked child opens its own)
        found = (os.getpid(), engine.raw_connection())
        _READERS.by_engine[engine] = found
    return found[1].driver_connection


class _Compiled:
    __slots__ = ("sql", "names", "positional", "binders", "fixed", "readers", "reads")

    def __init__(self, statement: ClauseElement, dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.reads = isinstance(statement, Select)
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        self.names = tuple(compiled.positiontup or ()) if self.positional else tuple(
            compiled.binds)
        binders = {}
        self.fixed = {name: bind.effective_value for name, bind in compiled.binds.items()
                      if not bind.required}       # literals of the statement itself
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binders[name] = process
        self.binders = binders
        readers = []
        for column in getattr(statement, "selected_columns", ()) or ():
            readers.append(column.type.dialect_impl(dialect).result_processor(dialect, None))
        returning = getattr(statement, "_returning", ()) or ()
        for column in returning:
            readers.append(column.type.dialect_impl(dialect).result_processor(dialect, None))
        self.readers = tuple(readers) if any(r is not None for r in readers) else None

    def parameters(self, given: dict[str, Any]) -> Any:
        values = {}
        for name in self.names:
            value = given[name] if name in given else self.fixed[name]
            process = self.binders.get(name)
            values[name] = process(value) if process is not None and value is not None else value
        if self.positional:
            return tuple(values[name] for name in self.names)
        return values

    def convert(self, row: tuple) -> tuple:
        readers = self.readers
        if readers is None:
            return tuple(row)
        return tuple(value if reader is None or value is None else reader(value)
                     for reader, value in zip(readers, row))


class Prepared:
    """One statement, compiled on first use for each dialect it meets."""

    def __init__(self, build: Callable[[], ClauseElement]):
        self._build = build
        self._statement: ClauseElement | None = None
        self._by_dialect: dict[str, _Compiled] = {}
        self._guard = threading.Lock()

    def _compiled(self, dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            with self._guard:
                if self._statement is None:
                    self._statement = self._build()
                found = _Compiled(self._statement, dialect)
                self._by_dialect[dialect.name] = found
        return found

    def _execute(self, session: Session, params: dict[str, Any]):
        if session.autoflush and (session.new or session.dirty or session.deleted):
            session.flush()          # as an ORM statement would: pending changes first
        if session.in_transaction():
            connection = session.connection()
            compiled = self._compiled(connection.dialect)
            dbapi = connection.connection.dbapi_connection
        else:
            engine = session.get_bind()
            compiled = self._compiled(engine.dialect)
            if compiled.reads and engine.dialect.name == "sqlite":
                dbapi = _reader(engine)
            else:
                dbapi = session.connection().connection.dbapi_connection
        cursor = dbapi.cursor()
        cursor.execute(compiled.sql, compiled.parameters(params))
        return compiled, cursor

    def rows(self, session: Session, **params: Any) -> list[tuple]:
        compiled, cursor = self._execute(session, params)
        try:
            return [compiled.convert(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def one(self, session: Session, **params: Any) -> tuple | None:
        compiled, cursor = self._execute(session, params)
        try:
            row = cursor.fetchone()
            return None if row is None else compiled.convert(row)
        finally:
            cursor.close()

    def run(self, session: Session, **params: Any) -> int:
        _compiled, cursor = self._execute(session, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()
