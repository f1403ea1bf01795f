"""Alembic, driven programmatically, and the SQL functions installed after it.

`pengcheng db upgrade`, the bootstrap and the tests call `upgrade(url)`; `check(url)` says
whether a database's functions are the files'. Where a thing goes: a table change is a
migration in `migrations/versions/`; a `pc_*` function is a `.sql` file beside the package that
owns it (`rewards/credit/sql/credit.sql`), listed in `SQL_FILES`.

Design overview
---------------
* **A repeatable step after the migrations** (Flyway's "repeatable" migrations): `upgrade`
  runs `alembic upgrade` and then, in the same transaction, runs every file of `SQL_FILES`
  (`CREATE OR REPLACE FUNCTION …`, in that order: a `LANGUAGE sql` body is checked when it is
  created, so what it calls comes first). A function's current text is written once, in its
  file; migrations change tables and never carry a function body, so no later migration
  repeats an earlier one's function and no downgrade reads one back.
* **Why not alembic-utils** (`PGFunction`, `op.replace_entity`): a replaceable entity is still
  installed by a migration, and autogenerate writes the function's whole body into every
  migration that changes it (and the previous body into its downgrade): the copies this module
  exists to remove, and one more dependency. Here the database at head always has the files'
  functions; a migration only drops a function whose signature or return type changes
  (`CREATE OR REPLACE` cannot change those) or that is gone.
* **The check**: `disagreements` compares the database's `pc_*` functions (trigger functions
  excepted: they belong to their tables' migrations) with a clean install of the files, done
  in a savepoint it rolls back, by `pg_get_functiondef`. After installing, `upgrade` fails if
  any remain (a function the files no longer define, an old signature left behind) and rolls
  the whole upgrade back; `check` asks the same of a database without changing it. A database
  whose functions already agree is left alone (an upgrade at every start replaces nothing, so
  no session's cached function is invalidated); upgrades take turns (an advisory lock).
* **Only at head.** The files are written for the current schema, so they are installed only
  when the database ends at the head revision. `downgrade` drops the functions first (they are
  the head schema's); a database downgraded to an earlier revision has no `pc_*` functions
  (trigger functions aside) until it is upgraded to head again.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text

from core.db import normalize_url

MIGRATIONS = Path(__file__).parent / "migrations"

# (package, file under its sql/): dependency order.
SQL_FILES: tuple[tuple[str, str], ...] = (
    ("core", "pgcall.sql"),
    ("core", "idempotency.sql"),
    ("consent", "consent.sql"),
    ("rewards", "access.sql"),
    ("rewards", "tokens.sql"),
    ("rewards", "exclusions.sql"),
    ("rewards.points", "ledger.sql"),
    ("rewards.points", "expiry.sql"),
    ("rewards.points", "redemption.sql"),
    ("rewards.credit", "credit.sql"),
    ("events", "outbox.sql"),
    ("events", "channels.sql"),
)

_FUNCTIONS = text(r"""
SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema() AND p.proname LIKE 'pc\_%'
   AND p.prorettype <> 'trigger'::regtype
""")


class FunctionsDisagree(RuntimeError):
    """The database's `pc_*` functions are not the `.sql` files' (the signatures that differ)."""

    def __init__(self, signatures: list[str]) -> None:
        super().__init__("the database's functions differ from the .sql files: "
                         + ", ".join(signatures))
        self.signatures = signatures


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = normalize_url(url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate to `revision`, then (at head) install the SQL functions; one transaction."""
    engine = create_engine(normalize_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            _one_at_a_time(conn)
            cfg = alembic_config(url, conn)
            command.upgrade(cfg, revision)
            if _at_head(cfg, conn) and disagreements(conn):
                install(conn)
                stray = disagreements(conn)
                if stray:
                    raise FunctionsDisagree(stray)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    """Drop the SQL functions, migrate down to `revision` (at head: reinstall); one transaction."""
    engine = create_engine(normalize_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            _one_at_a_time(conn)
            _drop_functions(conn)
            cfg = alembic_config(url, conn)
            command.downgrade(cfg, revision)
            if _at_head(cfg, conn):
                install(conn)
    finally:
        engine.dispose()


def check(url: str) -> list[str]:
    """The signatures whose function differs between the database and the `.sql` files (none
    when they agree); the database is left as it was."""
    engine = create_engine(normalize_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            return disagreements(conn)
    finally:
        engine.dispose()


def sql_source(package: str, name: str) -> str:
    return (files(package) / "sql" / name).read_text(encoding="utf-8")


def install(conn: Connection) -> None:
    """Run every file of `SQL_FILES` (`CREATE OR REPLACE`) in the caller's transaction."""
    plain = conn.execution_options(no_parameters=True)  # a `%` in a body is not a placeholder
    for package, name in SQL_FILES:
        plain.exec_driver_sql(sql_source(package, name))


def functions(conn: Connection) -> dict[str, str]:
    """Every `pc_*` function but the trigger functions: its signature → `pg_get_functiondef`."""
    return {str(sig): str(body) for sig, body in conn.execute(_FUNCTIONS).all()}


def disagreements(conn: Connection) -> list[str]:
    """The signatures the database and a clean install of the files define differently (or
    only one of them defines); compared in a savepoint that is rolled back."""
    found = functions(conn)
    savepoint = conn.begin_nested()
    try:
        _drop_functions(conn)
        install(conn)
        wanted = functions(conn)
    finally:
        savepoint.rollback()
    return sorted(sig for sig in found.keys() | wanted.keys() if found.get(sig) != wanted.get(sig))


def _drop_functions(conn: Connection) -> None:
    for signature in functions(conn):  # from the catalog: quoted as PostgreSQL prints it
        conn.exec_driver_sql(f"DROP FUNCTION {signature}")


def _one_at_a_time(conn: Connection) -> None:
    """Two upgrades at once (two instances starting) take turns; the lock ends with the
    transaction."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('pengcheng.migrate'))"))


def _at_head(cfg: Config, conn: Connection) -> bool:
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    return set(MigrationContext.configure(conn).get_current_heads()) == heads
