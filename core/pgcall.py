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

from sqlalchemy import Connection, TextClause
from sqlalchemy.exc import DBAPIError

from core.db import UnitOfWork
from core.errors import DomainError

REFUSED = "PC400"
PORTABLE = "PC409"

Refusal = Callable[[dict[str, Any]], DomainError]


class PortablePath(Exception):  # noqa: N818 - a signal, not an error
    """The function left this case to the portable implementation (nothing was written)."""


_DRIVER_SQL: dict[str, str] = {}


def _driver_sql(connection: Connection, statement: TextClause) -> str:
    """The statement as the driver takes it, compiled once per process: a hot path spends
    no time on SQLAlchemy's per-call statement handling."""
    found = _DRIVER_SQL.get(statement.text)
    if found is None:
        found = _DRIVER_SQL[statement.text] = str(statement.compile(dialect=connection.dialect))
    return found


def on_postgresql(uow: UnitOfWork) -> bool:
    return uow.dialect == "postgresql"


def call(uow: UnitOfWork, statement: TextClause, params: Mapping[str, Any],
         refusals: Mapping[str, Refusal]) -> Any:
    """Run `statement` (one function call) and return its single value.

    A `PC400` refusal becomes `refusals[code](fields)`; `PC409` becomes `PortablePath`.
    """
    try:
        connection = uow.session.connection()
        return connection.exec_driver_sql(_driver_sql(connection, statement),
                                          params).scalar_one()
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        if state == PORTABLE:
            raise PortablePath() from None
        if state != REFUSED:
            raise
        diag = exc.orig.diag  # type: ignore[union-attr]
        code = diag.message_primary or ""
        fields = json.loads(diag.message_detail or "{}")
        if code not in refusals:
            raise
        raise refusals[code](fields) from None
