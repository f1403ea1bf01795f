"""The `pengcheng` operator CLI (click, through Flask's CLI so every command has the app)."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup

from app.cli_support import echo_json, now, refusals
from app.runtime import runtime


def _create_app():
    from app import create_app
    from app.cli_scoring import score

    # `pengcheng score` serves no requests: its app has no API (importing it is half a start)
    command = click.get_current_context(silent=True)
    return create_app(serve=command is None or command.command is not score)


def _staffed_partners() -> click.Command:
    from app.cli_identities import partners
    from app.cli_staff import group as staff

    partners.add_command(staff)
    return partners


# The command groups of other modules, imported when a command line names one (or `--help`
# lists them all): `pengcheng score` imports its own module, not every group's (the rights
# queues, the audit log, the webhooks, …: ~40 modules, ~0.1-0.2 CPU-s of a ~1.3 s start).
_GROUPS: dict[str, tuple[str, str] | Callable[[], click.Command]] = {
    "score": ("app.cli_scoring", "score"),
    "model": ("app.cli_scoring", "model"),
    "disputes": ("app.cli_rights", "disputes"),
    "repairs": ("app.cli_rights", "repairs"),
    "reviews": ("app.cli_rights", "reviews"),
    "partners": _staffed_partners,
    "sources": ("app.cli_identities", "sources"),
    "operators": ("app.cli_identities", "operators"),
    "restore": ("app.cli_restore", "restore"),
    "audit": ("app.cli_audit", "audit"),
    "worker": ("app.cli_events", "worker"),
    "webhooks": ("app.cli_events", "webhooks"),
}


class _Main(FlaskGroup):
    """Flask's group with the other modules' command groups imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_GROUPS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _GROUPS and cmd_name not in self.commands:
            where = _GROUPS[cmd_name]
            command = (getattr(importlib.import_module(where[0]), where[1])
                       if isinstance(where, tuple) else where())
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


main = _Main(create_app=_create_app, add_default_commands=True, add_version_option=False,
             load_dotenv=False, help="鹏城分 operator commands.")


# -- database -----------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema (Alembic migrations) and the app's role."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION and make sure signing keys exist."""
    from app.bootstrap import bootstrap

    bootstrap(current_app, revision)
    click.echo(f"database at {revision}")


@db.command("create-role")
@click.option("--name", default="pengcheng_app", show_default=True, help="The app's role")
@click.option("--password-env", metavar="VAR",
              help="Read the role's password from environment variable VAR (never an argument)")
@click.option("--apply", is_flag=True,
              help="Create (or update) the role and its grants now, as the configured user; "
                   "without it, print the SQL for a DBA")
def db_create_role(name: str, password_env: str | None, apply: bool) -> None:
    """The non-superuser role the app runs as (migrations stay with the owner/superuser)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from core.db import normalize_url
    from core.roles import role_statements

    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise click.UsageError(f"environment variable {password_env} is empty or unset")
    url = make_url(normalize_url(current_app.config.get("MIGRATION_DATABASE_URL")
                                 or current_app.config["DATABASE_URL"]))
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT current_user, current_database()").fetchone()
        assert row is not None  # one row, always
        migrator, database = row
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        statements = role_statements(name, database, migrator, password, exists=bool(exists))
        shown = role_statements(name, database, migrator,
                                None if password is None else "***", exists=bool(exists))
        for statement, text in zip(statements, shown, strict=True):
            if apply:
                conn.execute(statement)
            click.echo(text.as_string(conn) + ";")
    if apply:
        app_url = url.set(username=name, password=None).render_as_string(hide_password=True)
        click.echo(f"-- done: set PENGCHENG_DATABASE_URL={app_url} for the app "
                   f"(with the password); run `pengcheng db upgrade` as {migrator}", err=True)


# -- keys -----------------------------------------------------------------------------------------

@main.group()
def keys() -> None:
    """Signing and data keys."""


@keys.command("rotate")
@click.option("--purpose", type=click.Choice(["token", "receipt", "audit", "report", "webhook",
                                             "all"]),
              default="all", show_default=True, help="Which signing keys to rotate")
@click.option("--data-keys/--no-data-keys", default=True, show_default=True,
              help="Also give every resident a new data key and re-encrypt their fields")
@click.option("--batch", default=500, show_default=True, help="Residents per transaction")
def keys_rotate(purpose: str, data_keys: bool, batch: int) -> None:
    """Rotate keys without downtime: next signing key becomes active; fields re-encrypted."""
    from core.rotation import rotate_data_keys, rotate_signing

    with runtime().uow() as uow:
        rotated = rotate_signing(uow, runtime().signer, purpose, now=now())
    for p, (old, new) in rotated.items():
        click.echo(f"{p}: {old or '-'} -> {new} (old key stays published until its tokens expire)")
    if data_keys:
        total = rotate_data_keys(runtime().uow, runtime().keyring, now=now(), batch=batch,
                                 progress=lambda n: click.echo(f"  re-encrypted {n} residents"))
        click.echo(f"data keys: {total} residents re-encrypted")


# -- demo -----------------------------------------------------------------------------------------

@main.command("seed")
@click.option("--residents", "count", default=200, show_default=True)
@click.option("--seed", "rng_seed", default=20261122, show_default=True)
def seed_cmd(count: int, rng_seed: int) -> None:
    """Create the demo personas and a synthetic population with records in every category
    (on a new database, after `db upgrade`'s steps: seeding an empty database just works)."""
    from app.bootstrap import bootstrap
    from app.seed import seed_demo

    bootstrap(current_app)
    echo_json(seed_demo(runtime(), residents=count, rng_seed=rng_seed, now=now()))


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--residents", "count", default=200, show_default=True)
def demo(host: str, port: int, count: int) -> None:
    """Create the embedded database, seed demo residents and serve."""
    from app.bootstrap import bootstrap, seed_demo_if_empty
    from app.demo_lock import DemoRunning, hold_demo_lock

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    url = f"http://{host}:{port}"
    try:
        hold_demo_lock(app.instance_path, url)
    except DemoRunning as exc:
        raise click.ClickException(str(exc)) from None
    bootstrap(app)
    with app.app_context():
        info = seed_demo_if_empty(app, count)
    click.echo(f"鹏城分 demo on {url}")
    click.echo(f"  resident pages: {url}/h5/   (sign in with a demo resident)")
    click.echo(f"  hospital counter: {url}/counter/   (sign in with the demo hospital's key)")
    click.echo(f"  API docs:       {url}/docs")
    click.echo(f"  demo residents: GET {url}/api/v1/auth/demo/residents")
    click.echo(f"  sign in:        POST {url}/api/v1/auth/demo "
               '{"resident_id": "<id from the list>"}')
    for line in info:
        click.echo(f"  {line}")
    for line in _database_lines(app):
        click.echo(f"  {line}")
    # Stop on SIGTERM as on Ctrl-C, so the embedded PostgreSQL is stopped cleanly (atexit).
    import signal

    def terminate(*_: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.exit(0)

    signal.signal(signal.SIGTERM, terminate)
    # Flask's app.run() refuses to serve from inside the flask CLI; serve with werkzeug directly.
    from werkzeug.serving import run_simple

    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        # A second signal (a supervisor that sends SIGTERM twice, a second Ctrl-C) must not
        # interrupt the database's clean stop, which runs next (atexit).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _database_lines(app: Any) -> list[str]:
    """Where the demo's database lives and how to reset it."""
    if os.environ.get("PENGCHENG_DATABASE_URL"):
        return [f"database:       {app.config['DATABASE_URL']} (PENGCHENG_DATABASE_URL)"]
    from core import embedded

    cluster = embedded.for_instance(app.instance_path)
    return [f"database:       embedded PostgreSQL in {cluster.root} "
            f"({embedded.binaries() / 'psql'} -h {cluster.socket_dir} -U postgres "
            f"{embedded.DATABASE})",
            f"reset it:       stop the demo, delete {cluster.root}, start it again"]


# -- scenarios ------------------------------------------------------------------------------------

@main.group()
def scenarios() -> None:
    """The scenario catalogue (changes take effect at once and are audited)."""


@scenarios.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include inactive scenarios")
def scenarios_list(include_inactive: bool) -> None:
    """Print each scenario as one JSON line."""
    from rewards.scenarios import catalogue

    with runtime().uow() as uow:
        for s in catalogue(uow.session, include_inactive=include_inactive).values():
            echo_json({**s.as_dict(), "version": s.version, "available": s.available,
                       "notice": asdict(s.notice) if s.notice else None})


@scenarios.command("set")
@click.argument("code")
@click.option("--json", "changes", default=None,
              help='Fields to change, e.g. \'{"min_tier":"fair"}\'')
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="A whole scenario definition (JSON) replacing the current one")
@click.option("--active/--inactive", default=None, help="Switch the scenario on or off")
def scenarios_set(code: str, changes: str | None, path: str | None, active: bool | None) -> None:
    """Change scenario CODE (merge --json / --active, or replace with --file); prints it."""
    from rewards.scenarios import put

    if path:
        with open(path, encoding="utf-8") as fh:
            body, merge = json.load(fh), False
    else:
        body, merge = json.loads(changes) if changes else {}, True
    if active is not None:
        body["active"] = active
    with refusals(with_code=True), runtime().uow() as uow:
        scenario = put(uow, code, body, actor="cli", now=now(), merge=merge)
    echo_json({**scenario.as_dict(), "version": scenario.version,
               "available": scenario.available})


# -- notices --------------------------------------------------------------------------------------

@main.group()
def notices() -> None:
    """Consent notices: list them; publish a scenario's next version (audited)."""


def _notice_line(notice: Any) -> dict[str, Any]:
    from consent.notices import document

    return {"id": str(notice.id), **document(notice), "hash": notice.hash,
            "published_at": notice.published_at.isoformat()}


@notices.command("list")
@click.option("--purpose", help="Only this purpose (`scoring`, `scenario:<code>`)")
@click.option("--all-versions", is_flag=True, help="Every version, not only the current one")
def notices_list(purpose: str | None, all_versions: bool) -> None:
    """Print each notice (texts in zh and en, its hash) as one JSON line."""
    from consent.notices import listing

    with runtime().uow() as uow:
        for notice in listing(uow.session, purpose=purpose, all_versions=all_versions):
            echo_json(_notice_line(notice))


@notices.command("publish")
@click.argument("code")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="The notice as JSON: title_zh, title_en, text_zh, text_en, categories, "
                   "recipients, retention, requires_separate_consent[, "
                   "separate_consent_categories, validity_days]")
def notices_publish(code: str, path: str) -> None:
    """Publish the next version of scenario CODE's consent notice; prints it."""
    from rewards.scenarios import publish_notice

    with open(path, encoding="utf-8") as fh:
        body = json.load(fh)
    if not isinstance(body, dict):
        raise click.UsageError("the file holds one JSON object")
    with refusals(with_code=True), runtime().uow() as uow:
        published = publish_notice(uow, code, body, actor="cli", now=now())
        echo_json({**_notice_line(published.notice), "material": published.material,
                   "invalidated": published.invalidated})


# -- jobs -----------------------------------------------------------------------------------------

@main.group()
def jobs() -> None:
    """Periodic jobs (overdue bills, hold expiry, points earning and expiry, consent expiry)."""


@jobs.command("list")
def jobs_list() -> None:
    """The registered jobs."""
    from core.jobs import load

    for name, fn in load().items():
        click.echo(f"{name}\t{(fn.__doc__ or '').strip().splitlines()[0]}")


@jobs.command("run")
@click.option("--only", multiple=True, help="Run only this job (repeatable)")
def jobs_run(only: tuple[str, ...]) -> None:
    """Run the periodic jobs once (safe to run repeatedly and concurrently); prints counts."""
    from core import jobs as registry

    ctx = registry.JobContext(uow=runtime().batch_uow, now=now(), settings=runtime().settings,
                              signer=runtime().signer)
    with refusals():
        unknown = set(only) - set(registry.load())
        if unknown:
            raise click.UsageError(f"unknown job(s): {', '.join(sorted(unknown))}")
        echo_json(registry.run(runtime().engine, ctx, list(only) or None))
