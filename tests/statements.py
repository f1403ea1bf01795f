"""What a request sent to the database: the hot paths promise one statement on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.extensions import services


def on_pg(app: Any) -> bool:
    with app.app_context():
        return services.engine.dialect.name == "postgresql"


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = services.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
