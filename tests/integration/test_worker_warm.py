"""A new server worker is warmed before it takes requests (`Runtime.warm`, called by
gunicorn.conf.py's `post_worker_init`): its first requests must not each pay for a new
PostgreSQL backend, the ORM's configuration, the model's parse, the statements' compile and
each backend's first use of the hot paths' tables, functions and plans (100-250 ms each,
issue 26's tail latency). Every pooled connection runs every hot path once (`app.warmup`) and
keeps nothing of it; a database that is down, a probe that fails or a scenario switched off
never stops the worker from starting, nor leaves a connection in a transaction."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, text

from app import warmup
from core.db import make_engine
from rewards import scenarios
from scoring import services
from tests.support.consent import grant_scoring
from tests.support.factories import bearer, login
from tests.support.roles import app_role


def test_warm_opens_every_pooled_connection_and_parses_the_active_model(app: Any, client: Any,
                                                                          idp: Any) -> None:
    rt = app.extensions["pengcheng"]
    rt.engine.dispose()
    services._models.clear()
    opened: list[object] = []
    event.listen(rt.engine, "connect", lambda *_: opened.append(1))

    with app.app_context():
        rt.warm()

    pool = rt.engine.pool
    assert len(opened) == pool.size() and pool.checkedin() == pool.size()
    assert len(services._models) == 1  # the active model, parsed once
    # A request now finds its connection open: nothing more is connected.
    session = login(client, idp)
    grant_scoring(client, session)
    assert client.get("/api/v1/me/score", headers=bearer(session)).status_code == 200
    assert len(opened) == pool.size()


def test_a_database_that_is_down_fails_no_worker(app: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    rt = app.extensions["pengcheng"]
    down = make_engine("postgresql://postgres@127.0.0.1:1/nothing", pool_size=2,
                       connect_args={"connect_timeout": 1})
    cold = dataclasses.replace(rt, engine=down)
    try:
        with app.app_context(), caplog.at_level(logging.WARNING, logger="app.runtime"):
            cold.warm()  # no exception
    finally:
        down.dispose()
    assert "warm-up incomplete" in caplog.text


# -- the hot paths, run once on every pooled connection and rolled back ----------------------

# The plpgsql functions the hot paths call, each compiled in a backend on its first call.
HOT_FUNCTIONS = ("pc_introspect", "pc_token_state", "pc_consume_token", "pc_claim_request",
                 "pc_credit_authorize", "pc_credit_expire_holds", "pc_credit_capture",
                 "pc_redeem", "pc_points_account")
# A statement near the end of each partner function: planned only by a probe that went through.
LAST_STATEMENTS = ("INSERT INTO credit_holds", "INSERT INTO credit_bills",
                   "INSERT INTO points_draws")

# The sequences a rollback cannot take back, which the probes advance: they only order rows
# (the outbox's events, a points account's legs), are never shown, and already skip the values
# of every write that is refused after its insert.
ORDERING_ONLY = {"sequence events_seq_seq", "sequence points_legs_id_seq"}


def _counts(app: Any) -> dict[str, Any]:
    """Every table's row count, every sequence's last value and the audit chain's head."""
    rt = app.extensions["pengcheng"]
    with rt.engine.connect() as conn:
        counts: dict[str, Any] = _tables(conn)
        counts.update((name, value) for name, value in conn.execute(text(
            "SELECT 'sequence ' || sequencename, last_value FROM pg_sequences"
            " WHERE schemaname = 'public'")))
        counts["audit head"] = conn.execute(text(
            "SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
    return counts


def _tables(conn: Any) -> dict[str, int]:
    tables = conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
    return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def _backends(app: Any) -> list[tuple[set[str], list[str]]]:
    """For every pooled connection (all checked out at once, so each is its own backend): the
    plpgsql functions compiled in it and the statements it holds a cached plan for."""
    rt = app.extensions["pengcheng"]
    held = [rt.engine.connect() for _ in range(rt.engine.pool.size())]
    try:
        found = []
        for conn in held:
            rows = conn.execute(text(
                "SELECT name, coalesce(ident, '') FROM pg_backend_memory_contexts"
                " WHERE name IN ('PL/pgSQL function', 'CachedPlanSource', 'CachedPlan')")).all()
            functions = {ident.split("(")[0] for name, ident in rows
                         if name == "PL/pgSQL function"}
            found.append((functions, [i for name, i in rows if name != "PL/pgSQL function"]))
            conn.rollback()
        return found
    finally:
        for conn in held:
            conn.close()


def _world(app: Any, client: Any, idp: Any) -> None:
    """A resident of the tests' own with a score, so that the tables are not all empty."""
    session = login(client, idp)
    grant_scoring(client, session)
    assert client.get("/api/v1/me/score", headers=bearer(session)).status_code == 200


@pytest.mark.commits  # warm() uses the pool's own connections
def test_warm_runs_every_hot_path_on_every_pooled_connection(app: Any) -> None:
    rt = app.extensions["pengcheng"]
    rt.engine.dispose()

    with app.app_context():
        rt.warm()

    backends = _backends(app)
    assert len(backends) == rt.engine.pool.size()
    for functions, plans in backends:
        assert set(HOT_FUNCTIONS) <= functions
        for statement in LAST_STATEMENTS:
            assert any(statement in plan for plan in plans), statement


def test_warm_keeps_nothing(app: Any, client: Any, idp: Any, monkeypatch: pytest.MonkeyPatch,
                            caplog: pytest.LogCaptureFixture) -> None:
    _world(app, client, idp)
    rt = app.extensions["pengcheng"]
    before = _counts(app)
    during: list[dict[str, int]] = []
    paths = warmup._paths

    def counted(uow: Any, *args: Any) -> set[str]:
        missed = paths(uow, *args)
        during.append(_tables(uow.session))  # in the probe's transaction, before its rollback
        return missed

    monkeypatch.setattr(warmup, "_paths", counted)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="app.runtime"):
        rt.warm()

    assert "warm-up incomplete" not in caplog.text  # the probes ran, and went through
    assert len(during) == rt.engine.pool.size()
    written = {t for t, n in during[0].items() if n > before[t]}
    assert {"residents", "sessions", "consent_records", "scores", "records", "partners",
            "issued_tokens", "partner_pseudonyms", "access_log", "consumed_tokens",
            "partner_requests", "credit_accounts", "credit_holds", "credit_bills",
            "notifications", "points_accounts", "points_lots", "points_transfers",
            "points_legs", "points_redemptions", "points_draws", "events"} <= written
    after = _counts(app)
    advanced = {k for k in before if after[k] != before[k]}
    assert advanced <= ORDERING_ONLY  # nothing else kept: no row, no audit entry


def test_a_probe_that_fails_leaves_every_connection_clean(app: Any, client: Any, idp: Any,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    _world(app, client, idp)
    rt = app.extensions["pengcheng"]
    before = _counts(app)
    paths = warmup._paths

    def failing(uow: Any, *args: Any) -> set[str]:
        paths(uow, *args)  # everything written, then the transaction fails
        uow.session.execute(text("SELECT 1 / 0"))
        return set()

    monkeypatch.setattr(warmup, "_paths", failing)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="app.runtime"):
        rt.warm()  # no exception

    assert "warm-up incomplete" in caplog.text
    pool = rt.engine.pool
    assert pool.checkedout() == 0
    assert pool.checkedin() == pool.size()
    held = [rt.engine.raw_connection() for _ in range(pool.size())]
    try:  # every pooled connection idle, outside any transaction
        assert {c.driver_connection.info.transaction_status for c in held} \
            == {TransactionStatus.IDLE}
    finally:
        for c in held:
            c.close()
    after = _counts(app)
    assert {k for k in before if after[k] != before[k]} <= ORDERING_ONLY
    monkeypatch.setattr(warmup, "_paths", paths)
    with app.app_context():
        rt.warm()  # the pool works as before
    session = login(client, idp)
    grant_scoring(client, session)
    assert client.get("/api/v1/me/score", headers=bearer(session)).status_code == 200


@pytest.mark.commits  # warm() uses the pool's own connections
def test_a_scenario_switched_off_costs_only_its_own_paths(app: Any,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    rt = app.extensions["pengcheng"]
    with app.app_context(), rt.uow() as uow:
        off = {**scenarios.defaults()["points_redemption"].as_dict(), "active": False}
        scenarios.put(uow, "points_redemption", off, actor="test", now=rt.clock.now())
    before = _counts(app)
    rt.engine.dispose()

    with app.app_context(), caplog.at_level(logging.WARNING, logger="app.runtime"):
        rt.warm()

    assert "warm-up incomplete" in caplog.text and "points_redemption: " in caplog.text
    assert "medical_credit: " not in caplog.text and "score read: " not in caplog.text
    for functions, plans in _backends(app):
        assert {"pc_introspect", "pc_credit_authorize", "pc_credit_capture"} <= functions
        assert "pc_redeem" not in functions
        assert any("INSERT INTO credit_bills" in plan for plan in plans)
    after = _counts(app)
    assert {k for k in before if after[k] != before[k]} <= ORDERING_ONLY


def test_warm_goes_through_as_the_apps_own_role(scratch_database: str, config: dict[str, Any],
                                               clock: Any, tmp_path: Any,
                                               monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """The probes write only what the role the app runs as may write (docs/operations.md:
    not a superuser); otherwise production workers would log `warm-up incomplete` and warm
    nothing."""
    from app import create_app
    from tests.conftest import seed

    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "instance"))
    with app_role(scratch_database, config, clock, "pc_warm") as (_owner, role_url, _name):
        app = create_app({**config, "DATABASE_URL": role_url}, clock=clock)
        went_through: list[int] = []
        paths = warmup._paths

        def counted(*args: Any) -> set[str]:
            missed = paths(*args)
            went_through.append(len(missed))
            return missed

        monkeypatch.setattr(warmup, "_paths", counted)
        try:
            seed(app, clock)
            with app.app_context(), caplog.at_level(logging.WARNING, logger="app.runtime"):
                app.extensions["pengcheng"].warm()
            assert "warm-up incomplete" not in caplog.text
            assert went_through == [0] * app.extensions["pengcheng"].engine.pool.size()
        finally:
            app.extensions["pengcheng"].engine.dispose()
