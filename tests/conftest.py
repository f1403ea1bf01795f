"""Shared fixtures.

Every tier that needs a database runs on PostgreSQL, migrated from scratch once per session,
tables emptied between tests:
* `PENGCHENG_TEST_DATABASE_URL` set: that server database (CI may point at one).
* unset: the embedded PostgreSQL (`core.embedded`) in `.test-postgres/` at the repository root
  (override with `PENGCHENG_TEST_EMBEDDED_DIR`), started by the first worker that needs it and
  stopped by the last to leave; it keeps no data worth having (fsync off).
`PENGCHENG_TEST_REDIS_URL` selects real Redis. With `PENGCHENG_REQUIRE_SERVICES=1` (CI) a test
that needs Redis fails instead of skipping when it is missing.
Under pytest-xdist each worker gets its own database and Redis db (`_for_this_worker`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from core.clock import FrozenClock
from core.crypto import new_key_text
from tests.support.factories import T0, FakeIdp

ROOT = Path(__file__).resolve().parents[1]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_N = int(WORKER[2:]) if WORKER[2:].isdigit() else 0
# Server settings of the embedded test cluster: a throw-away database need not wait for disks.
TEST_CLUSTER_SETTINGS = {"fsync": "off", "synchronous_commit": "off",
                         "full_page_writes": "off", "max_connections": "300"}


def _redis_for_this_worker(redis_url: str | None) -> str | None:
    """gw0 uses the configured Redis db, gwN the db N below it."""
    if not redis_url or WORKER_N == 0:
        return redis_url
    base, _, db = redis_url.rpartition("/")
    return f"{base}/{(int(db or 0) - WORKER_N) % 16}"


def _database_for_this_worker() -> str:
    """The URL of this worker's database: gw0 the configured (or `pengcheng_test`), gwN
    `<name>_gwN` on the same server. Tests of one worker never see another's rows."""
    configured = os.environ.get("PENGCHENG_TEST_DATABASE_URL")
    if configured:
        return configured if WORKER_N == 0 else f"{configured}_gw{WORKER_N}"
    from core.embedded import Cluster

    root = os.environ.get("PENGCHENG_TEST_EMBEDDED_DIR") or ROOT / ".test-postgres"
    cluster = Cluster(root, settings=TEST_CLUSTER_SETTINGS)
    cluster.attach()  # the last worker to finish stops it (atexit)
    name = "pengcheng_test" if WORKER_N == 0 else f"pengcheng_test_gw{WORKER_N}"
    return cluster.url(name)


REDIS_URL = _redis_for_this_worker(os.environ.get("PENGCHENG_TEST_REDIS_URL"))
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
def migrated() -> dict[str, Any]:
    """Run the real migrations once, on this worker's PostgreSQL database."""
    from app.migrate import upgrade

    url = _database_for_this_worker()
    _create_database(url)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        # A throw-away test database need not wait for the disk on every commit.
        name = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    engine.dispose()
    upgrade(url)
    return {"url": url, "reference": _snapshot(url)}


def _create_database(url: str) -> None:
    """Create the test database named by `url` if it does not exist (an xdist worker's)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = parsed.database
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
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
        for name in ("procrastinate_events", "procrastinate_periodic_defers",
                     "procrastinate_jobs", "procrastinate_workers"):  # the task queue's (events)
            conn.execute(text(f"DELETE FROM {name}"))
        for (sequence,) in conn.execute(text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                "FROM pg_sequences WHERE schemaname = 'public'")):
            conn.execute(text("SELECT setval(:s, 1, false)"), {"s": sequence})
        for name, rows in reference.items():
            if rows:
                conn.execute(Base.metadata.tables[name].insert(), rows)
    engine.dispose()


# Whether the database holds nothing but the reference rows: a test that commits leaves it
# dirty; a test rolled back in its transaction (`tests/integration`) leaves it as it found it.
_DATABASE = {"clean": False}


def clean_database(migrated: dict[str, Any], *, will_commit: bool) -> str:
    """This worker's database, emptied unless it already is; `will_commit`: the test's own
    writes will stay (so the next test must empty it again)."""
    import app.models  # noqa: F401

    if not _DATABASE["clean"]:
        _truncate(migrated["url"], migrated["reference"])
    _DATABASE["clean"] = not will_commit
    return str(migrated["url"])


@pytest.fixture
def database_url(migrated: dict[str, Any]) -> str:
    """A clean, migrated database for one test (which commits to it)."""
    return clean_database(migrated, will_commit=True)


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


def new_app(config: dict[str, Any], clock: FrozenClock, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app for one test, nothing written yet (`seed` writes what every test expects)."""
    from app import create_app

    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(config, clock=clock)


def seed(application: Any, clock: FrozenClock) -> None:
    """The signing key and the built-in score model; an empty fast store."""
    from app.runtime import runtime
    from scoring.services import ensure_builtin_model

    with application.app_context():
        with runtime().uow() as uow:
            runtime().signer.ensure(uow.session, clock.now())
            uow.commit()
        with runtime().uow() as uow:
            ensure_builtin_model(uow, clock.now())
        if REDIS_URL:
            store: Any = runtime().store  # the Redis store (REDIS_URL set)
            store.client.flushdb()


@pytest.fixture
def app(config: dict[str, Any], clock: FrozenClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app on a clean database; what the test commits stays until the next test."""
    application = new_app(config, clock, tmp_path, monkeypatch)
    seed(application, clock)
    yield application
    rt = application.extensions["pengcheng"]
    # A page served by the e2e `live` server may still have requests in flight: their
    # connections come back after a dispose to a pool no one closes, and are garbage-collected
    # open inside a later test (a ResourceWarning that fails it). Let them come back first.
    deadline = time.monotonic() + 5
    while rt.engine.pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.02)
    rt.engine.dispose()
    rt.health_engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def uow(app: Any) -> Iterator[Any]:
    """A unit of work on the test app's database (for arranging and inspecting state)."""
    from app.runtime import runtime

    with app.app_context():
        with runtime().uow() as unit:
            yield unit


@pytest.fixture
def pg_url(migrated: dict[str, Any]) -> str:
    """This worker's PostgreSQL database (migrated)."""
    return str(migrated["url"])


@pytest.fixture
def redis_url() -> str:
    need("redis", bool(REDIS_URL))
    assert REDIS_URL
    return REDIS_URL


@pytest.fixture
def scratch_database(migrated: dict[str, Any]) -> Iterator[str]:
    """An empty database beside this worker's (the session's stays untouched); dropped after."""
    import uuid

    from sqlalchemy.engine import make_url

    from core.db import normalize_url

    url = str(migrated["url"])
    name = f"{make_url(url).database}_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def cluster_home() -> Iterator[Path]:
    """A directory for an embedded cluster of the test's own, removed afterwards.

    Not under pytest's `tmp_path`: pytest keeps its base directory private (0700, reset by every
    xdist worker), and as root the cluster runs as another user who must reach its directory.
    """
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="pc-embedded-"))
    try:
        yield home
    finally:
        from core.embedded import Cluster

        for data in home.glob("**/PG_VERSION"):
            Cluster(data.parent.parent).stop("immediate")
        shutil.rmtree(home, ignore_errors=True)
