"""A test's whole database work in one transaction that is rolled back (Warehouse's pattern).

    with rolled_back(app) as connection:      # the app's runtime now works on `connection`
        with runtime().uow() as uow: …; uow.commit()   # releases a SAVEPOINT, commits nothing
    # everything the test wrote is gone: the outer transaction was rolled back

One connection holds an outer transaction for the test. Every session factory of the app's
`Runtime` is replaced (`dataclasses.replace`) by one bound to that connection with
`join_transaction_mode="create_savepoint"`, so a use case's `uow.commit()` releases a savepoint
and its rollback goes back to the savepoint. The one-statement calls of `core.pgcall`
(`UnitOfWork.driver_connection`) run on the same connection, each in a savepoint of its own, as
they would each stand alone on their autocommit connection.

Only for work on one thread and one connection: a test that needs another connection to see its
rows (threads, a second engine, `pg_url`, the HTTP client) commits for real (`commits` marker).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from app.config import db_timeouts
from app.runtime import EXTENSION, Runtime
from core.db import UnitOfWork, longer_waits


class _SavepointCursor:
    """A driver cursor whose every `execute` stands alone: in a savepoint, released after it
    (or rolled back to, if it fails), so a refused call leaves the test's transaction usable."""

    def __init__(self, cursor: Any, driver: Any):
        self._cursor = cursor
        self._driver = driver  # savepoint commands on a cursor of their own: this one's result
        # stays the call's

    def execute(self, sql: Any, params: Any = None) -> Any:
        self._driver.execute("SAVEPOINT pgcall")
        try:
            result = self._cursor.execute(sql, params)
        except Exception:
            self._driver.execute("ROLLBACK TO SAVEPOINT pgcall")
            raise
        self._driver.execute("RELEASE SAVEPOINT pgcall")
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _SharedDriver:
    """The test connection's driver connection, lent to `core.pgcall` (never closed by it)."""

    def __init__(self, connection: Connection):
        self._pooled = connection.connection

    @property
    def driver_connection(self) -> Any:
        return self._pooled.driver_connection

    def cursor(self) -> _SavepointCursor:
        return _SavepointCursor(self._pooled.cursor(), self._pooled.driver_connection)

    def invalidate(self, exc: BaseException | None = None) -> None:
        self._pooled.invalidate(exc)


class SavepointUnitOfWork(UnitOfWork):
    """A `UnitOfWork` on the test connection: `commit()` releases its savepoint. An autocommit
    unit keeps what its statements did (as autocommit would), unless it ends in an error."""

    def __init__(self, session_factory: sessionmaker[Session], connection: Connection, *,
                 autocommit: bool = False):
        super().__init__(session_factory)
        self._keeps_statements = autocommit
        self._connection = connection

    def driver_connection(self) -> Any:
        return _SharedDriver(self._connection)

    def __exit__(self, *exc: object) -> None:
        if self._keeps_statements and exc[0] is None and self._session is not None:
            self._session.commit()
        super().__exit__(*exc)


@dataclasses.dataclass(frozen=True)
class SavepointRuntime(Runtime):
    """The app's `Runtime` with every unit of work on one test connection."""

    connection: Connection | None = None

    def uow(self, *, autocommit: bool = False) -> UnitOfWork:
        assert self.connection is not None
        return SavepointUnitOfWork(self.session_factory, self.connection, autocommit=autocommit)

    def batch_uow(self) -> UnitOfWork:
        assert self.connection is not None
        return SavepointUnitOfWork(self.batch_factory, self.connection)


@contextmanager
def rolled_back(app: Flask) -> Iterator[Connection]:
    """Bind `app`'s runtime to one connection in a transaction; roll it back at the end."""
    original: Runtime = app.extensions[EXTENSION]
    connection = original.engine.connect()
    outer = connection.begin()
    # The test's transaction stays open while the test computes between statements (a fit, a
    # debugger): the server must not end it as idle (the app's limit is 30 s).
    connection.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")

    def factory() -> sessionmaker[Session]:
        return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                            expire_on_commit=False, info={"keyring": original.keyring})

    fields = {f.name: getattr(original, f.name) for f in dataclasses.fields(original)}
    fields.update(session_factory=factory(), autocommit_factory=factory(),
                  batch_factory=longer_waits(factory(), db_timeouts(app.config, "batch")),
                  connection=connection)
    app.extensions[EXTENSION] = SavepointRuntime(**fields)
    try:
        yield connection
    finally:
        app.extensions[EXTENSION] = original
        if outer.is_active:
            outer.rollback()
        connection.close()
