"""One round trip: the partner hot paths as PostgreSQL functions (`<package>/sql/*.sql`).

Design overview
---------------
* The partner writes that run many times a second (introspection, 先诊后付 authorization and
  capture, points redemption) are each one call to a PostgreSQL function, written in a `.sql`
  file beside the package that owns it (`rewards/sql/tokens.sql`, `core/sql/pgcall.sql`…) and
  installed by `app.migrate` after every upgrade: the idempotency claim, the token's
  consumption, the effect, the access-log entry and the stored answer in one statement, so one
  implicit transaction on an autocommit connection. Each function handles every case of its use
  case itself (a first account, holds or lots to expire first, a retry owed its stored answer):
  there is no second implementation. Python verifies the token's signature and builds ids,
  times and texts.
* A function refuses with SQLSTATE `PC400`: the message is the refusal's stable code, DETAIL
  its fields as JSON. The statement, and with it everything the function did, rolls back;
  `call` (or `refusal`, for a function run inside a caller's transaction) turns it into the
  caller's domain error.
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

Refusal = Callable[[dict[str, Any]], DomainError]


_DRIVER_SQL: dict[str, str] = {}
_COMPILED: dict[str, tuple[str, dict[str, Any]]] = {}


def compiled(name: str, dialect: Dialect, statement: Callable[[], Any]
             ) -> tuple[str, dict[str, Any]]:
    """`statement()` (a composed SQLAlchemy statement) as the driver takes it, and its fixed
    parameters, compiled once per process under `name` (for `fetch`)."""
    found = _COMPILED.get(name)
    if found is None:
        built = statement().compile(dialect=dialect)
        found = _COMPILED[name] = (built.string, dict(built.params))
    return found


def _driver_sql(dialect: Dialect, statement: TextClause) -> str:
    """The statement as the driver takes it, compiled once per process."""
    found = _DRIVER_SQL.get(statement.text)
    if found is None:
        found = _DRIVER_SQL[statement.text] = str(statement.compile(dialect=dialect))
    return found


def refusal(exc: Any, refusals: Mapping[str, Refusal]) -> DomainError | None:
    """The domain error a driver error stands for when it is a `PC400` refusal named in
    `refusals` (`exc` the driver's error, or SQLAlchemy's wrapping it), else None."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) != REFUSED:
        return None
    code = orig.diag.message_primary or ""
    if code not in refusals:
        return None
    return refusals[code](json.loads(orig.diag.message_detail or "{}"))


def call(uow: UnitOfWork, statement: TextClause, params: Mapping[str, Any],
         refusals: Mapping[str, Refusal]) -> Any:
    """Run `statement` (one function call) and return its single value.

    It goes straight to the driver on the unit's own autocommit connection
    (`UnitOfWork.driver_connection`): a hot path spends no time in session or statement
    machinery. A `PC400` refusal becomes `refusals[code](fields)`; any other database error
    is raised as SQLAlchemy's, as if SQLAlchemy had
    run the statement (a lost connection is invalidated, so the pool heals itself).
    """
    row = fetch(uow, _driver_sql(uow.bind.dialect, statement), params, refusals)
    assert row is not None
    return row[0]


def fetch(uow: UnitOfWork, sql: str, params: Mapping[str, Any],
          refusals: Mapping[str, Refusal] | None = None) -> tuple[Any, ...] | None:
    """Run `sql`, as the driver takes it, as `call` does; its first row as the driver gives
    it (None: no row). For a read that needs no session either (the score read,
    `scoring.read`)."""
    dialect = uow.bind.dialect
    pooled = uow.driver_connection()
    cursor = pooled.cursor()
    try:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
    except dialect.loaded_dbapi.Error as exc:
        refused = refusal(exc, refusals or {})
        if refused is not None:
            raise refused from None
        lost = dialect.is_disconnect(exc, pooled.driver_connection, cursor)
        if lost:
            pooled.invalidate(exc)
        raise DBAPIError.instance(sql, dict(params), exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect) from exc
    finally:
        cursor.close()
    return row
