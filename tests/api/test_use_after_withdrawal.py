"""A token's use and the withdrawal of its consent are ordered (issue 22, part 2).

Once a withdrawal has committed, no use of a token that relied on it commits; a use that
committed first is before the withdrawal in the resident's access log. The mechanism is the
consent record's row lock (`pc_consume_token`, rewards/sql/tokens.sql; `consent.services.withdraw`).

Commit order is read from PostgreSQL: `commit_order` installs deferred constraint triggers on
the tables a use and a withdrawal write, which number each row from one sequence as its
transaction commits (deferred triggers fire at COMMIT, while the transaction still holds its
locks). The clock ticks on every reading, so the times the service writes are in the order
the requests read the clock, as on a real server.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from core.clock import FrozenClock
from core.db import normalize_url
from tests.support.factories import T0, bearer
from tests.support.medical_credit import BASE, Credit
from tests.support.points import SCENARIO as POINTS
from tests.support.points import PointsWorld
from tests.support.tokens import grant

pytestmark = pytest.mark.services

WAIT = 10.0  # seconds: the bound on every wait in these tests


class TickingClock(FrozenClock):
    """A test clock that moves on by a millisecond at every reading (thread-safe)."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self.at += timedelta(milliseconds=1)
            return self.at


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(T0)


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    """Every racing use in flight at once (the per-resident cap would turn most away)."""
    return {**config, "RESIDENT_CONCURRENCY": USES + 2}


# -- commit order, read from PostgreSQL ------------------------------------------------------

MARKED = ("consumed_tokens", "credit_holds", "points_redemptions", "consent_events")

_INSTALL = """
CREATE TABLE test_commit_order (seq bigserial PRIMARY KEY, tbl text NOT NULL,
                                row jsonb NOT NULL);
CREATE FUNCTION test_commit_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_commit_order (tbl, row) VALUES (TG_TABLE_NAME, to_jsonb(NEW));
    RETURN NULL;
END $$;
""" + "".join(
    f"CREATE CONSTRAINT TRIGGER test_commit_mark AFTER INSERT ON {table} "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_commit_mark();\n"
    for table in MARKED)

_REMOVE = "".join(f"DROP TRIGGER IF EXISTS test_commit_mark ON {table};\n" for table in MARKED) + (
    "DROP FUNCTION IF EXISTS test_commit_mark();\nDROP TABLE IF EXISTS test_commit_order;\n")


@pytest.fixture
def db(pg_url: str) -> Iterator[Engine]:
    """A plain engine on the test database (not the app's: no request timeouts)."""
    engine = create_engine(normalize_url(pg_url), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def commit_order(db: Engine, app: Any) -> Iterator[None]:
    """Number every use and every consent event in the order their transactions commit."""
    with db.connect() as conn:
        conn.execute(text(_REMOVE))
        conn.execute(text(_INSTALL))
    try:
        yield
    finally:
        with db.connect() as conn:
            conn.execute(text("SET lock_timeout = '30s'"))
            conn.execute(text(_REMOVE))


@dataclass(frozen=True)
class Marks:
    withdrawal: int  # the commit number of the withdrawal
    withdrawn_at: datetime  # the time it took effect (its consent event's `at`)
    uses_after: list[dict[str, Any]]  # the uses of the resident that committed after it
    uses_before: list[dict[str, Any]]


def marks(db: Engine, consent_id: str, resident_id: uuid.UUID) -> Marks:
    with db.connect() as conn:
        seq, at = conn.execute(text(
            "SELECT seq, (row->>'at')::timestamptz FROM test_commit_order "
            "WHERE tbl = 'consent_events' AND row->>'consent_id' = :c "
            "AND row->>'event' = 'withdrawn'"), {"c": consent_id}).one()
        uses = [dict(r) for r in conn.execute(text(
            "SELECT seq, tbl, row FROM test_commit_order WHERE tbl <> 'consent_events' "
            "AND (row->>'resident_id' = :r OR row->>'account_id' IN ("
            "  SELECT id::text FROM points_accounts WHERE resident_id::text = :r)) ORDER BY seq"),
            {"r": str(resident_id)}).mappings()]
    return Marks(seq, at, [u for u in uses if u["seq"] > seq],
                 [u for u in uses if u["seq"] < seq])


def resident_of(db: Engine, consent_id: str) -> uuid.UUID:
    with db.connect() as conn:
        return conn.execute(text("SELECT resident_id FROM consent_records WHERE id = :c"),
                            {"c": consent_id}).scalar_one()


def access_after(db: Engine, resident_id: uuid.UUID, at: datetime) -> list[str]:
    """The resident's access-log entries of uses later than `at`."""
    with db.connect() as conn:
        return list(conn.scalars(text(
            "SELECT action FROM access_log WHERE resident_id = :r AND at > :at "
            "AND outcome <> 'active'"), {"r": resident_id, "at": at}))


# -- threads and locks -----------------------------------------------------------------------

class Request:
    """One request on its own thread and test client; its response once it ends."""

    def __init__(self, app: Any, send: Callable[[Any], Any]) -> None:
        self.response: Any = None
        self._thread = threading.Thread(target=self._run, args=(app, send), daemon=True)
        self._thread.start()

    def _run(self, app: Any, send: Callable[[Any], Any]) -> None:
        self.response = send(app.test_client())

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the request did not finish"
        return self.response


def until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def waiting_on(db: Engine, pids: list[int]) -> list[int]:
    """The backends waiting for a lock that one of `pids` holds."""
    with db.connect() as conn:
        return list(conn.scalars(text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE pg_blocking_pids(pid) && CAST(:pids AS integer[])"),
            {"pids": pids}))


def withdraw(consent_id: str, resident: str) -> Callable[[Any], Any]:
    return lambda client: client.post(f"/api/v1/me/consents/{consent_id}/withdraw",
                                      headers=bearer(resident))


@dataclass
class Use:
    """A partner call that uses a token, the account row it waits for, the consent behind it."""

    name: str
    world: Any
    consent: str  # the scenario consent's id
    account_row: str  # SQL locking the resident's account row (:r the resident)

    def send(self) -> Callable[[Any], Any]:
        """A new token, and the partner call that uses it."""
        if self.name == "credit":
            body = {"token": self.world.token(), "out_request_no": uuid.uuid4().hex,
                    "amount_fen": 1000}
            return lambda client: client.post(f"{BASE}/authorizations",
                                              headers=bearer(self.world.hospital_key),
                                              json=body)
        body = {"token": self.world.points_token(), "out_order_no": uuid.uuid4().hex,
                "points": 10}
        return lambda client: client.post("/partner/v1/points/redemptions",
                                          headers=bearer(self.world.shop_key), json=body)


@pytest.fixture(params=["credit", "points"])
def use(request: pytest.FixtureRequest, app: Any, client: Any, idp: Any) -> Use:
    if request.param == "credit":
        world = Credit(app, client, idp)
        world.hold(100)  # opens the resident's credit account
        return Use("credit", world, world.consents["medical_credit"],
                   "SELECT 1 FROM credit_accounts WHERE resident_id = :r FOR UPDATE")
    points = PointsWorld(app, client, idp)
    points.give(100_000)
    return Use("points", points, points.consents[POINTS],
               "SELECT 1 FROM points_accounts WHERE resident_id = :r FOR UPDATE")


def holding(conn: Connection, use: Use, resident_id: uuid.UUID) -> int:
    """Lock the resident's account row on `conn` (an operator's psql session); its pid."""
    conn.execute(text(use.account_row), {"r": resident_id})
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


# -- (a) deterministic: the use waits for the account while the withdrawal comes in ---------

def test_a_use_held_up_at_the_account_commits_before_a_withdrawal_or_not_at_all(
        use, db, commit_order, app):
    resident_id = resident_of(db, use.consent)
    send, later = use.send(), use.send()
    with db.connect() as holder:
        holder.execute(text("BEGIN"))
        try:
            holder_pid = holding(holder, use, resident_id)
            in_flight = Request(app, send)
            user_pid = until(lambda: waiting_on(db, [holder_pid]),
                             "the use to wait for the account row")
            withdrawal = Request(app, withdraw(use.consent, use.world.resident))
            # Either the withdrawal waits for the use (it holds the consent row), or it ends.
            until(lambda: withdrawal.done() or waiting_on(db, user_pid),
                  "the withdrawal to end or to wait for the use")
            withdrawal_waited = not withdrawal.done()
            assert not in_flight.done(), "the use went on while the account row was locked"
        finally:
            holder.execute(text("ROLLBACK"))
        used, withdrawn = in_flight.result(), withdrawal.result()

    assert withdrawn.status_code == 200, withdrawn.get_json()
    found = marks(db, use.consent, resident_id)
    assert found.uses_after == [], "a use committed after the withdrawal had"
    if used.status_code == 201:  # it committed first: before the withdrawal in every record
        tables = {u["tbl"] for u in found.uses_before[-2:]}
        assert tables == {"consumed_tokens", "credit_holds" if use.name == "credit"
                          else "points_redemptions"}
        assert access_after(db, resident_id, found.withdrawn_at) == []
    else:
        assert used.get_json()["code"] == "token_revoked", used.get_json()
    # This design: the use holds the consent row, so the withdrawal waited for it to commit.
    assert withdrawal_waited and used.status_code == 201, used.get_json()
    # A token issued before the withdrawal is dead now.
    again = Request(app, later).result()
    assert again.get_json()["code"] == "token_revoked", again.get_json()


# -- (b) concurrent: many uses racing one withdrawal ------------------------------------------

USES = 8
ROUNDS = 3


def released(start: threading.Barrier, send: Callable[[Any], Any],
             delay: float) -> Callable[[Any], Any]:
    """`send`, once every racer is ready and `delay` seconds more."""
    def run(client: Any) -> Any:
        start.wait()
        time.sleep(delay)
        return send(client)
    return run


def test_uses_racing_a_withdrawal_never_commit_after_it(use, db, commit_order, app):
    resident_id = resident_of(db, use.consent)
    consent = use.consent
    committed = refused = 0
    for round_ in range(ROUNDS):
        sends = [use.send() for _ in range(USES)]
        start = threading.Barrier(USES + 1)
        # The withdrawal lands among the uses: some start before it, some after.
        requests = [Request(app, released(start, send, 0.002 * i))
                    for i, send in enumerate(sends)]
        withdrawal = Request(app, released(start, withdraw(consent, use.world.resident), 0.006))
        answers = [r.result() for r in requests]
        assert withdrawal.result().status_code == 200, withdrawal.result().get_json()

        found = marks(db, consent, resident_id)
        assert found.uses_after == [], f"round {round_}: uses committed after the withdrawal"
        assert access_after(db, resident_id, found.withdrawn_at) == [], (
            f"round {round_}: a use is after the withdrawal in the access log")
        for answer in answers:
            assert answer.status_code == 201 or answer.get_json()["code"] == "token_revoked", (
                answer.get_json())
        committed += sum(a.status_code == 201 for a in answers)
        refused += sum(a.status_code != 201 for a in answers)
        consent = grant(use.world.client, use.world.resident,
                        "scenario:medical_credit" if use.name == "credit"
                        else f"scenario:{POINTS}")
    assert committed + refused == USES * ROUNDS
