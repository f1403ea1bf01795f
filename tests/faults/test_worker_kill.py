"""`kill -9` in the middle of a redemption and authorization load — one gunicorn worker, then
the whole server. Afterwards, read straight from the database: every acknowledged write is
there and whole, the points ledger balances to zero, no credit line is overspent; and retrying
each interrupted request with its `out_*_no` gives the first answer or writes once, never twice.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from tests.faults.conftest import Arranged, call
from tests.faults.support import ANSWER_PATHS, Writes, add_points
from tests.faults.verdicts import Database, settled

pytestmark = pytest.mark.services

AWARDED = 1_000_000


def _survives(arranged: Arranged, db: Database, kill: Callable[[Writes], None]) -> dict:
    merchant = add_points(arranged, db.url, AWARDED)
    writes = Writes(arranged, merchant).start()
    time.sleep(2)
    kill(writes)
    time.sleep(2)
    writes.stop()

    assert not writes.token_errors, writes.token_errors[:3]
    assert not writes.refused(), [(w.status, w.answer) for w in writes.refused()][:3]
    assert writes.interrupted(), "the kill interrupted no write"
    assert all(writes.acknowledged(path) for path in ANSWER_PATHS), \
        "no write of some kind was acknowledged"
    # Every acknowledged write, and only writes that were asked for; then the retries.
    return settled(db, writes, arranged.server.port, awarded=AWARDED)


def test_killing_a_worker_mid_load_loses_or_doubles_no_write(
        arranged: Arranged, db: Database) -> None:
    server = arranged.server

    def kill_a_worker(writes: Writes) -> None:
        # A worker may happen to be idle when it dies: kill again (after the master has
        # replaced it) until a write was caught in flight, a few times at most.
        for _ in range(8):
            seen = len(writes.interrupted())
            victim = server.worker_pids()[0]
            writes.in_flight()
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
    def kill_the_server(writes: Writes) -> None:
        # Killed while a write is in flight; should that write have been answered in the
        # instant before the kill, kill again (a few times at most).
        for _ in range(8):
            seen = len(writes.interrupted())
            writes.in_flight()
            arranged.server.kill(signal.SIGKILL)  # master and workers at once
            time.sleep(0.5)
            arranged.server.start()
            time.sleep(1)
            if len(writes.interrupted()) > seen:
                return

    print("server kill:", _survives(arranged, db, kill_the_server))  # shown with -s
