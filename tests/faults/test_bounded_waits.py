"""Every wait on the database is bounded (issue 22, part 1): a row lock held elsewhere, a slow
statement or an exhausted pool is a 503 `database_busy` problem+json with `Retry-After` within
its limit (on the session path and on the partner functions of `core.pgcall` alike); `/healthz`
answers from its own connection; one resident's writes cannot take every thread; batch units
wait longer and give their connection back as they found it."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from app.runtime import runtime
from tests.support.factories import bearer
from tests.support.tokens import World

LOCK_MS, STATEMENT_MS, POOL_S = 500, 1500, 0.3
AUTHORIZE = "/partner/v1/medical-credit/authorizations"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "DB_LOCK_TIMEOUT_MS": LOCK_MS, "DB_STATEMENT_TIMEOUT_MS": STATEMENT_MS,
            "DB_POOL_TIMEOUT_S": POOL_S, "DB_POOL_SIZE": 1}


@pytest.fixture
def world(app: Any, client: Any, idp: Any) -> World:
    return World(app, client, idp)


def authorize(world: World, token: str | None = None, key: str | None = None) -> Any:
    return world.client.post(AUTHORIZE, headers=bearer(world.hospital_key), json={
        "token": token or world.token(), "out_request_no": key or uuid.uuid4().hex,
        "amount_fen": 100})


def busy(response: Any, code: str = "database_busy") -> bool:
    body = response.get_json(silent=True) or {}
    return (response.status_code == 503 and response.mimetype == "application/problem+json"
            and body.get("code") == code and response.headers.get("Retry-After", "").isdigit())


class HeldLock:
    """Another session (an operator's psql) holding `FOR UPDATE` on one resident's credit
    account until `release()` — or 10 s, so that a wait without a bound fails the test
    instead of hanging it."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=False)
        row = self.conn.execute("SELECT resident_id FROM credit_accounts").fetchone()
        assert row is not None
        self.conn.execute("SELECT 1 FROM credit_accounts WHERE resident_id = %s FOR UPDATE",
                          (row[0],))
        self.timer = threading.Timer(10, self.release)
        self.timer.start()

    def release(self) -> None:
        self.timer.cancel()
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def test_a_held_credit_row_lock_is_503_database_busy_within_the_lock_timeout_and_nothing_is_doubled(
        world: World, database_url: str) -> None:
    assert authorize(world).status_code == 201  # the account exists: there is a row to lock
    lock = HeldLock(database_url)
    try:
        token, key = world.token(), uuid.uuid4().hex
        started = time.monotonic()
        waited = authorize(world, token, key)
        elapsed = time.monotonic() - started
    finally:
        lock.release()
    assert busy(waited), (waited.status_code, waited.get_json())
    assert LOCK_MS / 1000 <= elapsed < LOCK_MS / 1000 + 2, elapsed
    again = authorize(world, token, key)  # the partner retries: the statement had rolled back
    assert again.status_code == 201, again.get_json()
    assert authorize(world, token, key).get_json() == again.get_json()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM credit_holds WHERE out_request_no = %s",
                            (key,)).fetchone()[0] == 1


def test_a_statement_past_the_statement_timeout_is_503_database_busy(app: Any, client: Any
                                                                     ) -> None:
    def slow() -> dict[str, str]:
        with runtime().uow() as uow:
            uow.session.execute(text("SELECT pg_sleep(30)"))
        return {"slept": "yes"}

    app.add_url_rule("/test-only/slow", "test_slow", slow)
    started = time.monotonic()
    response = client.get("/test-only/slow")
    assert busy(response), (response.status_code, response.get_json())
    assert time.monotonic() - started < STATEMENT_MS / 1000 + 2


def test_an_exhausted_pool_is_503_database_busy_and_healthz_still_answers(
        app: Any, client: Any) -> None:
    engine = app.extensions["pengcheng"].engine
    held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
    try:
        started = time.monotonic()
        response = client.get("/.well-known/jwks.json")
        elapsed = time.monotonic() - started
        health = client.get("/healthz")
    finally:
        for conn in held:
            conn.close()
    assert busy(response), (response.status_code, response.get_json())
    assert POOL_S <= elapsed < POOL_S + 2, elapsed
    assert health.status_code == 200 and health.get_json()["database"] == "ok"
    assert client.get("/.well-known/jwks.json").status_code == 200


def test_a_residents_writes_past_the_cap_are_refused_at_once_while_others_wait_on_the_lock(
        app: Any, world: World, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert authorize(world).status_code == 201
    cap = app.config["RESIDENT_CONCURRENCY"]
    tokens = [world.token() for _ in range(cap + 1)]
    # The first `cap` writes keep their slots until the extra one has been answered, however
    # late a loaded machine starts their threads (each alone waits at most the lock timeout).
    slots, answered = app.extensions["pengcheng"].resident_slots, threading.Event()
    give = slots.give
    monkeypatch.setattr(slots, "give", lambda key: (answered.wait(10), give(key)))
    lock = HeldLock(database_url)
    waiting: list[Any] = []
    try:
        threads = [threading.Thread(target=lambda t=t: waiting.append(authorize(world, t)))
                   for t in tokens[:cap]]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10  # until the first `cap` hold their slots
        while (services_slots(app) < cap and time.monotonic() < deadline):
            time.sleep(0.01)
        started = time.monotonic()
        refused = authorize(world, tokens[cap])
        refused_in = time.monotonic() - started
        answered.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        answered.set()
        lock.release()
    assert busy(refused, "resident_busy"), (refused.status_code, refused.get_json())
    assert refused_in < LOCK_MS / 1000  # answered without waiting for the lock
    assert len(waiting) == cap and all(busy(w) for w in waiting), [w.get_json() for w in waiting]
    assert services_slots(app) == 0  # every slot given back
    assert authorize(world, tokens[cap]).status_code == 201


def services_slots(app: Any) -> int:
    return sum(app.extensions["pengcheng"].resident_slots._held.values())


def test_batch_units_wait_longer_and_give_the_connection_back_with_the_request_limits(
        app: Any) -> None:
    shown = "SELECT pg_backend_pid(), current_setting('lock_timeout'), " \
            "current_setting('statement_timeout'), " \
            "current_setting('idle_in_transaction_session_timeout')"
    with app.app_context():
        with runtime().uow() as uow:
            before = uow.session.execute(text(shown)).one()
        with runtime().batch_uow() as uow:
            during = uow.session.execute(text(shown)).one()
        with runtime().uow() as uow:
            after = uow.session.execute(text(shown)).one()
    assert before[1:] == ("500ms", "1500ms", "30s")
    assert during[1:] == ("30s", "10min", "10min")
    assert after == before and during[0] == before[0]  # the same pooled connection
