"""What a request sent to the database: the hot paths promise one statement on PostgreSQL.

`statements(app)` records every statement the app sends while the block runs, from every
thread: those SQLAlchemy runs (its `before_cursor_execute` event) and the one-statement calls
`core.pgcall` sends straight to the driver (`UnitOfWork.driver_connection`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.runtime import runtime
from core.db import UnitOfWork


class _Cursor:
    def __init__(self, cursor: Any, seen: list[str]) -> None:
        self._cursor, self._seen = cursor, seen

    def execute(self, statement: str, *args: Any, **kwargs: Any) -> Any:
        self._seen.append(statement)
        return self._cursor.execute(statement, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _Connection:
    def __init__(self, pooled: Any, seen: list[str]) -> None:
        self._pooled, self._seen = pooled, seen

    def cursor(self) -> _Cursor:
        return _Cursor(self._pooled.cursor(), self._seen)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pooled, name)


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app sends meanwhile (every connection and thread)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    original = UnitOfWork.driver_connection

    def recorded(self: UnitOfWork) -> Any:
        return _Connection(original(self), seen)

    with app.app_context():
        engine = runtime().engine
    event.listen(engine, "before_cursor_execute", record)
    UnitOfWork.driver_connection = recorded  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        UnitOfWork.driver_connection = original  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", record)
