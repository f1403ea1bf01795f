"""One round trip: the partner hot paths as PostgreSQL functions (migration 0010 and later).

Design overview
---------------
* The partner writes that run many times a second (introspection, 先诊后付 authorization and
  capture, points redemption) are, on PostgreSQL, one call to a function kept in the
  migrations: the idempotency claim, the token's consumption, the effect, the access-log entry
  and the stored answer in one statement, so one implicit transaction on an autocommit
  connection. Python still verifies the token's signature and builds ids and times, so the
  answers are the ones the portable path gives. The portable path (the same use case written
  with SQLAlchemy, one statement at a time) serves SQLite and the rare cases the function
  hands back; the test suite runs on both databases, so both answer the same.
* A function refuses with SQLSTATE `PC400`: the message is the refusal's stable code, DETAIL
  its fields as JSON. The statement, and with it everything the function did, rolls back;
  `call` turns the refusal into the caller's domain error.
* A function that meets a case it does not handle (an account to create, lots to expire first)
  raises `PC409`; `call` raises `PortablePath` and the caller runs the portable implementation.
  Nothing was written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from core.db import UnitOfWork
from core.errors import DomainError

REFUSED = "PC400"
PORTABLE = "PC409"

Refusal = Callable[[dict[str, Any]], DomainError]


class PortablePath(Exception):  # noqa: N818 - a signal, not an error
    """The function left this case to the portable implementation (nothing was written)."""


_DRIVER_SQL: dict[str, str] = {}


def _driver_sql(dialect: Dialect, statement: TextClause) -> str:
    """The statement as the driver takes it, compiled once per process."""
    found = _DRIVER_SQL.get(statement.text)
    if found is None:
        found = _DRIVER_SQL[statement.text] = str(statement.compile(dialect=dialect))
    return found


def on_postgresql(uow: UnitOfWork) -> bool:  # to go with the last caller (issue 17)
    return True


def call(uow: UnitOfWork, statement: TextClause, params: Mapping[str, Any],
         refusals: Mapping[str, Refusal]) -> Any:
    """Run `statement` (one function call) and return its single value.

    It goes straight to the driver on the unit's own autocommit connection
    (`UnitOfWork.driver_connection`): a hot path spends no time in session or statement
    machinery. A `PC400` refusal becomes `refusals[code](fields)`; `PC409` becomes
    `PortablePath`; any other database error is raised as SQLAlchemy's, as if SQLAlchemy had
    run the statement (a lost connection is invalidated, so the pool heals itself).
    """
    dialect = uow.bind.dialect
    sql = _driver_sql(dialect, statement)
    pooled = uow.driver_connection()
    cursor = pooled.cursor()
    try:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    except dialect.loaded_dbapi.Error as exc:
        state = getattr(exc, "sqlstate", None)
        if state == PORTABLE:
            raise PortablePath() from None
        if state == REFUSED:
            code = exc.diag.message_primary or ""
            if code in refusals:
                raise refusals[code](json.loads(exc.diag.message_detail or "{}")) from None
        lost = dialect.is_disconnect(exc, pooled.driver_connection, cursor)
        if lost:
            pooled.invalidate(exc)
        raise DBAPIError.instance(sql, dict(params), exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect) from exc
    finally:
        cursor.close()
    return row[0]
