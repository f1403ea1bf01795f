"""Integration tests: use cases called directly on the real PostgreSQL, no HTTP client.

Each test runs in one transaction that is rolled back afterwards (`tests.support.rollback`):
the `app` fixture's runtime is bound to one connection, a use case's `uow.commit()` releases a
savepoint, and nothing is deleted between tests.

    def test_redeeming_twice_is_rejected(app, uow): …   # rolled back at the end

A test that needs other connections to see its rows commits for real, on a database emptied
before it: mark it `@pytest.mark.commits`. Tests are marked so by themselves when they use
threads of their own (`*concurrency*` modules) or a fixture that reaches the database from
elsewhere: `pg_url`, `client`, `scratch_database`, `cluster_home`, or `config`/`database_url`
asked for directly (to build apps of their own).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import FrozenClock
from tests.conftest import clean_database, new_app, seed
from tests.support.rollback import rolled_back

HERE = Path(__file__).parent
# Fixtures that reach the database from another connection (or thread), which would not see
# rows left in a transaction that is never committed.
ELSEWHERE = {"pg_url", "client", "scratch_database", "cluster_home"}
# Fixtures a test asking for them directly uses to build apps or engines of its own.
OWN_APPS = {"config", "database_url"}


def _commits(item: pytest.Item) -> bool:
    if item.get_closest_marker("commits"):
        return True
    if "concurrency" in item.path.name:
        return True
    names = set(getattr(item, "fixturenames", ()))
    function = getattr(item, "function", None)
    asked = set(inspect.signature(function).parameters) if function else set()
    return bool(ELSEWHERE & names or OWN_APPS & asked)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents and _commits(item):
            item.add_marker(pytest.mark.commits)


def _rolls_back(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("commits") is None


@pytest.fixture
def database_url(request: pytest.FixtureRequest, migrated: dict[str, Any]) -> str:
    """The clean database; emptied again after a test only if that test committed."""
    return clean_database(migrated, will_commit=not _rolls_back(request))


@pytest.fixture
def app(request: pytest.FixtureRequest, config: dict[str, Any], clock: FrozenClock,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app; its units of work in the test's rolled-back transaction (unless `commits`)."""
    application = new_app(config, clock, tmp_path, monkeypatch)
    try:
        if _rolls_back(request):
            with rolled_back(application):
                seed(application, clock)
                yield application
        else:
            seed(application, clock)
            yield application
    finally:
        application.extensions["pengcheng"].engine.dispose()
