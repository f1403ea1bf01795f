"""Alembic environment: one metadata for every package, PostgreSQL only.

`app.migrate` passes its own connection (`attributes["connection"]`), already in a transaction:
the migrations and the SQL functions installed after them commit together.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

import app.models  # noqa: F401  (registers every table on Base.metadata)
from core.db import Base

config = context.config


def run() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        return
    engine = create_engine(config.attributes["url"], poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection)
    finally:
        engine.dispose()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
