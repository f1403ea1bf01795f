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

# The savepoints SQLAlchemy opens for a unit of work in a rolled-back test transaction
# (`tests.support.rollback`): the test's machinery, not what the app sends.
_TEST_SAVEPOINTS = ("SAVEPOINT sa_savepoint_", "RELEASE SAVEPOINT sa_savepoint_",
                    "ROLLBACK TO SAVEPOINT sa_savepoint_")


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
        if not statement.startswith(_TEST_SAVEPOINTS):
            seen.append(statement)

    def recording(original: Any) -> Any:
        def recorded(self: UnitOfWork) -> Any:
            return _Connection(original(self), seen)
        return recorded

    # the units of work of a rolled-back test (`tests.support.rollback`) too
    kinds: list[type[UnitOfWork]] = [UnitOfWork, *UnitOfWork.__subclasses__()]
    originals = {kind: kind.__dict__.get("driver_connection") for kind in kinds}
    with app.app_context():
        engine = runtime().engine
    event.listen(engine, "before_cursor_execute", record)
    for kind, original in originals.items():
        if original is not None:
            setattr(kind, "driver_connection", recording(original))  # noqa: B010
    try:
        yield seen
    finally:
        for kind, original in originals.items():
            if original is not None:
                setattr(kind, "driver_connection", original)  # noqa: B010
        event.remove(engine, "before_cursor_execute", record)
