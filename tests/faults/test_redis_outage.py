"""Redis stopped in the middle of load: answers stay correct (slower is fine), and the service
goes back to Redis by itself when it returns. The load reads (token, introspection) and writes
money (points redemptions and 先诊后付 authorizations); afterwards the database holds every
acknowledged write once and nothing half applied."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.faults.conftest import Arranged, PrivateRedis
from tests.faults.support import (
    ANSWER_PATHS,
    AUTHORIZE,
    REDEEM,
    Answered,
    Writes,
    add_points,
    ask,
    token,
    token_and_introspection,
    undocumented,
)
from tests.faults.verdicts import Database, settled

pytestmark = pytest.mark.services

AWARDED = 100_000
LOAD_S, STOP_AT_S, DOWN_S = 9, 3, 3


def _load(arranged: Arranged, until: float, out: list[Answered]) -> None:
    """Ask a token and introspect it, again and again: both must keep working."""
    while time.monotonic() < until:
        out.extend(token_and_introspection(arranged))


def test_stopping_redis_mid_load_changes_no_answer_and_it_is_used_again_on_return(
        arranged: Arranged, private_redis: PrivateRedis, db: Database) -> None:
    merchant = add_points(arranged, db.url, AWARDED)
    out: list[Answered] = []
    started = time.monotonic()
    readers = [threading.Thread(target=_load, args=(arranged, started + LOAD_S, out))
               for _ in range(3)]
    for t in readers:
        t.start()
    writes = Writes(arranged, merchant, threads=2, pause=0.02).start()
    time.sleep(STOP_AT_S)
    private_redis.stop()
    stopped = time.monotonic()
    time.sleep(DOWN_S)
    private_redis.start()
    restarted = time.monotonic()
    time.sleep(max(0.0, started + LOAD_S - time.monotonic()))
    writes.stop()
    for t in readers:
        t.join(timeout=60)
        assert not t.is_alive(), "a load thread hung"

    # Every answer, before, during and after the outage, is the one Redis being up gives:
    # tokens 201, introspections active, redemptions and authorizations 201.
    answers = out + writes.answers()
    wrong = undocumented(answers)
    assert not wrong, (len(wrong), wrong[:3])
    assert all(a.body["active"] is True for a in out if a.what == "introspect")
    during = [a for a in answers if stopped + 0.5 < a.at < restarted]
    assert {a.what for a in during} >= {"token", "introspect", *ANSWER_PATHS}, \
        "some kind of request did not complete while Redis was down"
    assert not writes.interrupted() and not writes.refused()

    # Every acknowledged write is stored once and whole; the ledger reconciles; no credit
    # line is overspent (nothing was interrupted, so there is nothing to retry).
    print("redis outage:", settled(db, writes, arranged.server.port, awarded=AWARDED))

    # Back on Redis: the rate-limit counters and caches reappear there within a few seconds,
    # and redemptions and authorizations still answer 201.
    client = redis.Redis.from_url(private_redis.url)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not client.dbsize():
        ask(arranged.server.port, "token", "POST", "/api/v1/me/tokens", {
            "scenario": "medical_credit", "partner": arranged.hospital["client_id"]},
            arranged.session)
        time.sleep(0.3)
    assert client.dbsize() > 0, "the service did not go back to Redis"
    for path, body, key in (
            (REDEEM, {"token": token(arranged, "points_redemption", merchant),
                      "out_order_no": "after-redis", "points": 1}, merchant["api_key"]),
            (AUTHORIZE, {"token": token(arranged, "medical_credit", arranged.hospital),
                         "out_request_no": "after-redis", "amount_fen": writes.hold_fen},
             arranged.hospital["api_key"])):
        got = ask(arranged.server.port, path, "POST", path, body, key)
        assert got.status == 201, got
