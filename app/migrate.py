"""Alembic, driven programmatically: `pengcheng db upgrade` and the tests call `upgrade()`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from core.db import normalize_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = normalize_url(url)
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def earlier_functions(filename: str) -> str:
    """The `FUNCTIONS` of an earlier migration in `versions/`, as that revision wrote them and
    made re-runnable (`CREATE OR REPLACE`): what a later migration's downgrade restores, read
    from the one text rather than copied."""
    import importlib.util

    path = MIGRATIONS / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"pengcheng_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTIONS).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
