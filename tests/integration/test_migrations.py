"""The Alembic migrations go up, all the way down and up again."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from app.migrate import alembic_config, downgrade, upgrade
from core.db import Base, normalize_url


def _tables(url: str) -> set[str]:
    engine = create_engine(normalize_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    import app.models  # noqa: F401

    upgrade(url)
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert expected <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade(url)
    assert expected <= _tables(url)


@pytest.mark.services
def test_migrations_round_trip_on_postgresql(scratch_database):
    _round_trip(scratch_database)
    engine = create_engine(normalize_url(scratch_database))
    try:
        with engine.connect() as conn:
            triggers = set(conn.scalars(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
            functions = set(conn.scalars(text(
                "SELECT proname FROM pg_proc WHERE proname LIKE 'pc\\_%'")))
            heads = list(conn.scalars(text("SELECT version_num FROM alembic_version")))
        assert {"audit_log_insert_only", "audit_checkpoints_insert_only"} <= triggers
        # the partner hot paths (core.pgcall) come back with the schema
        assert {"pc_introspect", "pc_consume_token", "pc_claim_request", "pc_redeem",
                "pc_credit_authorize", "pc_credit_capture"} <= functions
        script = ScriptDirectory.from_config(alembic_config(scratch_database))
        assert heads == list(script.get_heads())
    finally:
        engine.dispose()


@pytest.mark.services
def test_the_migrated_schema_matches_the_models(scratch_database):
    """No model change is missing a migration (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import app.models  # noqa: F401

    upgrade(scratch_database)
    engine = create_engine(normalize_url(scratch_database))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
