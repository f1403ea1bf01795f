"""Alembic environment: one metadata for every package, PostgreSQL only."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import app.models  # noqa: F401  (registers every table on Base.metadata)
from core.db import Base

config = context.config
url = config.attributes["url"]


def run() -> None:
    connectable = config.attributes.get("connection") or create_engine(
        url, poolclass=pool.NullPool
    )
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _configure(connection)
    else:
        _configure(connectable)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
