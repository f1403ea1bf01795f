"""PostgreSQL restarted under load: requests during the outage get 503 problem+json with
Retry-After (never a 500, never a reset connection), nothing is corrupted, and the service
resumes by itself. The load reads (score, token, introspection) and writes money (points
redemptions and 先诊后付 authorizations, one PostgreSQL function call each); afterwards the
database holds every acknowledged write once and nothing half applied."""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import Arranged, PrivatePostgres, call, pengcheng
from tests.faults.support import (
    ANSWER_PATHS,
    Answered,
    Writes,
    add_points,
    ask,
    token_and_introspection,
    undocumented,
)
from tests.faults.verdicts import Database, settled

pytestmark = pytest.mark.services

AWARDED = 100_000
CRASH_AT_S, DOWN_S, AFTER_S = 3, 3, 5  # load before the crash, outage, load once it is back


def _load(arranged: Arranged, stop: threading.Event, out: list[Answered]) -> None:
    while not stop.is_set():
        out.append(ask(arranged.server.port, "score", "GET", "/api/v1/me/score",
                       token=arranged.session))
        out.extend(token_and_introspection(arranged))
        time.sleep(0.02)


def test_a_postgres_restart_gives_503_with_retry_after_then_the_service_heals(
        arranged: Arranged, private_pg: PrivatePostgres, db: Database) -> None:
    merchant = add_points(arranged, db.url, AWARDED)
    out: list[Answered] = []
    stop = threading.Event()
    readers = [threading.Thread(target=_load, args=(arranged, stop, out)) for _ in range(3)]
    for t in readers:
        t.start()
    # Two writers with two tokens of each kind in stock: their writes meet the outage even
    # though no token can be issued while the database is away.
    writes = Writes(arranged, merchant, threads=2, ahead=2, pause=0.02).start()
    time.sleep(CRASH_AT_S)
    private_pg.stop("immediate")  # a crash, not a polite shutdown
    time.sleep(DOWN_S)
    private_pg.start()  # returns once crash recovery is done and connections are accepted
    back = time.monotonic()
    time.sleep(AFTER_S)
    stop.set()
    writes.stop()
    for t in readers:
        t.join(timeout=60)
        assert not t.is_alive(), "a load thread hung"

    # Every answer was a documented one: 2xx, or the outage's 503 problem+json with
    # Retry-After. Never a 500, never a connection our server reset.
    answers = out + writes.answers()
    wrong = undocumented(answers, database_down=True)
    assert not wrong, (len(wrong), wrong[:3])
    assert [a for a in out if a.status == 503], "no read saw the outage"
    interrupted = writes.interrupted()  # here: the writes answered 503
    assert {w.path for w in interrupted} == set(ANSWER_PATHS), \
        "the outage did not meet both kinds of write"
    assert all(w.status == 503 for w in interrupted)

    # Resumed by itself (no restart of gunicorn): everything answered 2 s after PostgreSQL is
    # back is a 2xx, reads and both kinds of write among it.
    healed = [a for a in answers if a.at > back + 2]
    assert {a.what for a in healed} >= {"score", "token", "introspect", *ANSWER_PATHS}, \
        sorted({a.what for a in healed})
    assert all(a.status in (200, 201) for a in healed), sorted({(a.what, a.status)
                                                                 for a in healed})

    # Nothing corrupted or lost: every acknowledged write once and whole, the 503s that had
    # committed once and whole, the rest not at all; the ledger reconciles; no line overspent.
    # Then each 503 retried with its own out_*_no: 201, written once or the first answer.
    db.engine.dispose()  # (it held no connection across the crash; be sure)
    print("postgres restart:", settled(db, writes, arranged.server.port, awarded=AWARDED))
    pengcheng(arranged.env, "audit", "checkpoint")  # verify wants a recent checkpoint
    verdict = pengcheng(arranged.env, "audit", "verify")
    assert verdict.get("ok") is True, verdict
    assert call(arranged.server.port, "GET", "/api/v1/me/score",
                token=arranged.session)[0] == 200
