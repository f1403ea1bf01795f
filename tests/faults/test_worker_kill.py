"""`kill -9` in the middle of a redemption and authorization load — one gunicorn worker, then
the whole server. Afterwards, read straight from the database: every acknowledged write is
there and whole, the points ledger balances to zero, no credit line is overspent; and retrying
each interrupted request with its `out_*_no` gives the first answer or writes once, never twice.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from tests.faults.conftest import Arranged, PrivatePostgres, call
from tests.faults.support import AUTHORIZE, REDEEM, Database, Writes, add_points

pytestmark = pytest.mark.services

AWARDED = 1_000_000
ANSWER_PATHS = (REDEEM, AUTHORIZE)


@pytest.fixture
def db(private_pg: PrivatePostgres) -> Iterator[Database]:
    found = Database(private_pg.url)
    try:
        yield found
    finally:
        found.close()


def _stored_exactly(db: Database, writes: Writes, keys: dict[str, set[str]]) -> None:
    """The database holds the writes named by `keys` (path -> out_*_no), each once, and every
    acknowledged answer names the row stored for its key; nothing is half applied."""
    stored = {REDEEM: db.redemptions(), AUTHORIZE: db.holds()}
    for path, expected in keys.items():
        assert set(stored[path]) == expected, (path, set(stored[path]) ^ expected)
    for w in writes.acknowledged():
        row = stored[w.path][w.key]
        assert row.id == w.id, (w.key, row, w.answer)
    assert all(r.points == 1 for r in stored[REDEEM].values())
    assert all(h.status == "held" and h.amount_fen == writes.hold_fen
               for h in stored[AUTHORIZE].values())
    assert db.half_applied_redemptions() == []
    assert db.unanswered_claims() == 0
    assert db.ledger() == dict.fromkeys(db.ledger(), 0)
    assert db.balance() == AWARDED - len(stored[REDEEM])  # each redemption debited once
    assert db.credit_lines() == dict.fromkeys(db.credit_lines(), 0)
    line, held, owed = db.credit_account()
    assert held == writes.hold_fen * len(stored[AUTHORIZE]) and owed == 0
    assert held + owed <= line


def _survives(arranged: Arranged, db: Database, kill: Callable[[Writes], None]) -> dict:
    merchant = add_points(arranged, db.url, AWARDED)
    writes = Writes(arranged, merchant).start()
    time.sleep(2)
    kill(writes)
    time.sleep(2)
    writes.stop()

    assert not writes.token_errors, writes.token_errors[:3]
    assert not writes.refused(), [(w.status, w.answer) for w in writes.refused()][:3]
    interrupted = writes.interrupted()
    assert interrupted, "the kill interrupted no write"
    acknowledged = {path: {w.key for w in writes.acknowledged(path)} for path in ANSWER_PATHS}
    assert all(acknowledged.values()), "no write of some kind was acknowledged"

    # After the restart: every acknowledged write, and only writes that were asked for.
    stored = {REDEEM: set(db.redemptions()), AUTHORIZE: set(db.holds())}
    committed_unanswered = {w.key for w in interrupted if w.key in stored[w.path]}
    _stored_exactly(db, writes, {
        path: acknowledged[path] | (stored[path] & committed_unanswered)
        for path in ANSWER_PATHS})

    # Retrying each interrupted request with the same out_*_no: the first answer, or one write.
    before = {REDEEM: db.redemptions(), AUTHORIZE: db.holds()}
    for w in interrupted:
        w.send(arranged.server.port)
        assert w.status == 201, (w.key, w.status, w.answer)
        if w.key in before[w.path]:
            assert w.id == before[w.path][w.key].id, (w.key, w.answer)
    keys = {path: acknowledged[path] | {w.key for w in interrupted if w.path == path}
            for path in ANSWER_PATHS}
    _stored_exactly(db, writes, keys)
    for w in interrupted + writes.acknowledged()[:20]:  # and again: the same answer, no write
        answer = w.answer
        assert w.send(arranged.server.port).status == 201 and w.answer == answer
    _stored_exactly(db, writes, keys)
    return {"acknowledged": sum(map(len, acknowledged.values())), "interrupted": len(interrupted),
            "committed_but_unanswered": len(committed_unanswered)}


def test_killing_a_worker_mid_load_loses_or_doubles_no_write(
        arranged: Arranged, db: Database) -> None:
    server = arranged.server

    def kill_a_worker(writes: Writes) -> None:
        # A worker may happen to be idle when it dies: kill again (after the master has
        # replaced it) until a write was caught in flight, a few times at most.
        for _ in range(4):
            seen = len(writes.interrupted())
            victim = server.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                    victim in server.worker_pids() or len(server.worker_pids()) < 2):
                time.sleep(0.1)
            time.sleep(1)
            if len(writes.interrupted()) > seen:
                return

    print("worker kill:", _survives(arranged, db, kill_a_worker))  # shown with -s
    assert server.proc is not None and server.proc.poll() is None  # the master lived on
    assert call(server.port, "GET", "/healthz")[0] == 200


def test_killing_the_whole_server_mid_load_loses_or_doubles_no_write(
        arranged: Arranged, db: Database) -> None:
    def kill_the_server(_writes: Writes) -> None:
        arranged.server.kill(signal.SIGKILL)  # master and workers at once
        time.sleep(0.5)
        arranged.server.start()

    print("server kill:", _survives(arranged, db, kill_the_server))  # shown with -s
