"""The app's own database role (`pengcheng db create-role`) on a scratch database, for tests
that run the app as it runs in production: not as a superuser."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask.cli import ScriptInfo
from sqlalchemy.engine import make_url

from app.cli import main
from app.migrate import upgrade


def cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


@contextmanager
def app_role(scratch_database: str, config: dict[str, Any], clock: Any,
             prefix: str) -> Iterator[tuple[Any, str, str]]:
    """The scratch database migrated by its owner, and a role `<prefix>_<random>` made by
    `db create-role --apply`: (the owner's app, the role's database URL, the role's name).
    The role and what it owns are dropped afterwards."""
    from app import create_app

    upgrade(scratch_database)  # migrations: as the owner (the superuser here)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    owner = create_app({**config, "DATABASE_URL": scratch_database}, clock=clock)
    try:
        made = cli(owner, "db", "create-role", "--name", name, "--apply")
        assert made.exit_code == 0, made.output
        yield owner, make_url(scratch_database).set(username=name).render_as_string(
            hide_password=False), name
    finally:
        owner.extensions["pengcheng"].engine.dispose()
        with psycopg.connect(scratch_database, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')
