"""Shared fixtures.

Which database the integration and API tiers use:
* `PENGCHENG_TEST_DATABASE_URL` set (CI): that PostgreSQL database, migrated from scratch once
  per session, tables truncated between tests.
* unset: a SQLite file migrated once into a template and copied per test.
`PENGCHENG_TEST_REDIS_URL` likewise selects real Redis. With `PENGCHENG_REQUIRE_SERVICES=1`
(CI) a test that needs PostgreSQL or Redis fails instead of skipping when they are missing.
Under pytest-xdist each worker gets its own database and Redis db (`_for_this_worker`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from core.clock import FrozenClock
from core.crypto import new_key_text
from tests.factories import T0, FakeIdp


def _for_this_worker(pg_url: str | None, redis_url: str | None) -> tuple[str | None, str | None]:
    """Under pytest-xdist (`-n 2`) every worker has a database and a Redis db of its own: gw0
    the configured ones, gwN the database `<name>_gwN` (created when missing) and the Redis db
    N below the configured one. Tests of one worker never see another's rows or keys."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker[2:]) if worker[2:].isdigit() else 0
    if n == 0:
        return pg_url, redis_url
    if pg_url:
        pg_url = f"{pg_url}_gw{n}"
    if redis_url:
        base, _, db = redis_url.rpartition("/")
        redis_url = f"{base}/{(int(db or 0) - n) % 16}"
    return pg_url, redis_url


PG_URL, REDIS_URL = _for_this_worker(os.environ.get("PENGCHENG_TEST_DATABASE_URL"),
                                     os.environ.get("PENGCHENG_TEST_REDIS_URL"))
REQUIRE = os.environ.get("PENGCHENG_REQUIRE_SERVICES") == "1"


def need(service: str, available: bool) -> None:
    """Skip locally when a service is not configured; fail in CI, where it is required."""
    if available:
        return
    if REQUIRE:
        pytest.fail(f"{service} is required (PENGCHENG_REQUIRE_SERVICES=1) but not configured")
    pytest.skip(f"{service} not configured (set PENGCHENG_TEST_{service.upper()}_URL)")


# -- identity provider ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def idp() -> FakeIdp:
    return FakeIdp()


# -- database ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the real migrations once: on PostgreSQL when configured, else into a SQLite template."""
    from app.migrate import upgrade

    if PG_URL:
        _create_database(PG_URL)
        engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            # A throw-away test database need not wait for the disk on every commit.
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        engine.dispose()
        upgrade(PG_URL)
        return {"kind": "postgresql", "url": PG_URL, "reference": _snapshot(PG_URL)}
    template = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{template}")
    return {"kind": "sqlite", "template": template}


def _create_database(url: str) -> None:
    """Create the test database named by `url` if it does not exist (an xdist worker's)."""
    base, _, name = url.rpartition("/")
    server = create_engine(f"{base}/postgres".replace("postgresql://", "postgresql+psycopg://", 1),
                           isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                        ).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()


# Rows the migrations seed (reference data); restored after each truncation.
REFERENCE_TABLES = ("consent_notices",)


def _snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    import app.models  # noqa: F401
    from core.db import Base, make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = {name: [dict(r) for r in conn.execute(
            Base.metadata.tables[name].select()).mappings()]
            for name in REFERENCE_TABLES if name in Base.metadata.tables}
    engine.dispose()
    return rows


def _truncate(url: str, reference: dict[str, list[dict[str, Any]]]) -> None:
    """Empty every table and restart every sequence; then put the reference rows back.

    DELETE with triggers switched off (`session_replication_role = replica`: the insert-only
    guards and foreign keys stay out of the way) is ~15x faster than TRUNCATE on this many
    small tables, which dominated the suite's time on PostgreSQL.
    """
    from core.db import Base, make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        for (sequence,) in conn.execute(text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                "FROM pg_sequences WHERE schemaname = 'public'")):
            conn.execute(text("SELECT setval(:s, 1, false)"), {"s": sequence})
        for name, rows in reference.items():
            if rows:
                conn.execute(Base.metadata.tables[name].insert(), rows)
    engine.dispose()


@pytest.fixture
def database_url(migrated: dict[str, Any], tmp_path: Path) -> str:
    """A clean, migrated database for one test."""
    import app.models  # noqa: F401

    if migrated["kind"] == "postgresql":
        _truncate(migrated["url"], migrated["reference"])
        return migrated["url"]
    path = tmp_path / "pengcheng.db"
    shutil.copyfile(migrated["template"], path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def config(database_url: str, idp: FakeIdp, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "MASTER_KEY": new_key_text(),
        "INDEX_KEY": new_key_text(),
        "IDP_JWKS": idp.jwks,
        "IDP_ISSUER": FakeIdp.ISSUER,
        "RATE_LIMIT_LOGIN": "1000/60",
        "RATE_LIMIT_INGEST": "1000/60",
        "RATE_LIMIT_TOKENS": "1000/60",
    }


@pytest.fixture
def app(config: dict[str, Any], clock: FrozenClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from app import create_app
    from app.extensions import services

    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(config, clock=clock)
    with application.app_context():
        with services.uow() as uow:
            services.signer.ensure(uow.session, clock.now())
            uow.commit()
        with services.uow() as uow:
            from scoring.service import ensure_builtin_model

            ensure_builtin_model(uow, clock.now())
        if REDIS_URL:
            services.store.client.flushdb()
    yield application
    application.extensions["pengcheng"]["engine"].dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def uow(app: Any) -> Iterator[Any]:
    """A unit of work on the test app's database (for arranging and inspecting state)."""
    from app.extensions import services

    with app.app_context():
        with services.uow() as unit:
            yield unit


@pytest.fixture
def pg_url() -> str:
    need("database", bool(PG_URL))
    assert PG_URL
    return PG_URL


@pytest.fixture
def redis_url() -> str:
    need("redis", bool(REDIS_URL))
    assert REDIS_URL
    return REDIS_URL
