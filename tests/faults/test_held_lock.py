"""One resident's rows locked for 15 s (an operator's psql session holding `FOR UPDATE` on their
`points_accounts` and `credit_accounts` rows) while partners retry that resident's redemptions
and 先诊后付 holds and other residents read their scores, on gunicorn gthread 2×8 with the
production defaults (`lock_timeout` 2 s, `statement_timeout` 5 s) and the per-resident cap at
two partner writes in flight per key and process.

It requires: other residents' reads keep their latency (all 200; p95 under the lock within
twice the p95 before it plus 0.3 s, and none as slow as the lock timeout); every answer to the
locked resident's writes during the hold is a 503 problem+json (`database_busy` or
`resident_busy`) with `Retry-After` — `database_busy` after a median of the lock timeout
(+0.5 s) and never beyond the statement timeout (+1 s), `resident_busy` at once (< 0.5 s);
never a 500, never a hang; `/healthz` answers 200 within 1 s throughout; after the release
every retried write is stored exactly once and the ledger and credit line reconcile."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

import psycopg
import pytest

from tests.faults.conftest import Arranged, PrivatePostgres, Server, call, pengcheng
from tests.faults.support import AUTHORIZE, REDEEM, Write, add_points, token
from tests.faults.verdicts import Database, stored_exactly
from tests.support.factories import id_number
from tests.support.tokens import NORMAL, good_history

pytestmark = pytest.mark.services

AWARDED = 100_000
LOCK_S = 2.0  # the default PENGCHENG_DB_LOCK_TIMEOUT_MS
STATEMENT_S = 5.0  # the default PENGCHENG_DB_STATEMENT_TIMEOUT_MS
BASE_S, HOLD_S, AFTER_S = 4, 15, 5
RETRIERS = 6  # partner threads: half redeem, half hold; each retries one write until 201
OTHERS = (8, 9, 10)  # id_number()s of the residents who only read
BUSY = ("database_busy", "resident_busy")
PACE, STOCK = 0.5, 20  # seconds between one partner thread's writes; tokens it holds


class Attempt(NamedTuple):
    what: str
    sent: float
    answered: float
    status: int | None
    headers: dict[str, str]
    body: Any

    @property
    def seconds(self) -> float:
        return self.answered - self.sent


def timed(what: str, port: int, method: str, path: str, body: Any = None,
          bearer: str | None = None) -> Attempt:
    sent = time.monotonic()
    try:
        status, headers, answer = call(port, method, path, body, bearer, timeout=20)
    except OSError as exc:
        return Attempt(what, sent, time.monotonic(), None, {}, repr(exc))
    return Attempt(what, sent, time.monotonic(), status, headers, answer)


def busy(a: Attempt) -> bool:
    return (a.status == 503 and a.headers.get("content-type", "").startswith(
        "application/problem+json") and isinstance(a.body, dict) and a.body.get("code") in BUSY
        and a.headers.get("retry-after", "").isdigit())


class Acknowledged:
    """What `verdicts.stored_exactly` reads of a load: the writes answered 201, the hold size."""

    hold_fen = 100

    def __init__(self, writes: list[Write]) -> None:
        self.writes = writes

    def acknowledged(self, path: str | None = None) -> list[Write]:
        return [w for w in self.writes if w.status == 201 and path in (None, w.path)]


def reader(port: int, session: str, what: str, stop: threading.Event,
           out: list[Attempt]) -> None:
    while not stop.is_set():
        out.append(timed(what, port, "GET", "/api/v1/me/score", bearer=session))
        stop.wait(0.05)


def health(port: int, stop: threading.Event, out: list[Attempt]) -> None:
    while not stop.is_set():
        out.append(timed("healthz", port, "GET", "/healthz"))
        stop.wait(0.2)


def retrier(arranged: Arranged, n: int, tokens: list[str], partner: dict[str, Any],
            stop: threading.Event, out: list[Attempt], writes: list[Write]) -> None:
    """A partner retrying each write (same body, same `out_*_no`) until it gets 201."""
    port = arranged.server.port
    for i, jwt in enumerate(tokens):
        if stop.is_set():
            return
        if n % 2:
            write = Write(REDEEM, partner["api_key"],
                          {"token": jwt, "out_order_no": f"o-{n}-{i}", "points": 1})
        else:
            write = Write(AUTHORIZE, arranged.hospital["api_key"],
                          {"token": jwt, "out_request_no": f"r-{n}-{i}", "amount_fen": 100})
        writes.append(write)
        deadline = time.monotonic() + HOLD_S + 20
        while time.monotonic() < deadline:
            got = timed(write.path, port, "POST", write.path, write.body, write.api_key)
            out.append(got)
            write.status, write.answer, write.headers = got.status, got.body, got.headers
            if got.status == 201:
                break
            time.sleep(0.1)  # a partner's retry
        stop.wait(PACE)
        if stop.is_set():
            return


def sign_in_reader(arranged: Arranged, idp: Any, n: int) -> str:
    port = arranged.server.port
    records = good_history(n)
    for i in range(0, len(records), 1000):
        status, _, body = call(port, "POST", "/ingest/v1/records",
                               {"records": records[i:i + 1000]}, arranged.source["api_key"])
        assert status == 200 and not body["rejected"], body
    status, _, body = call(port, "POST", "/api/v1/auth/session", {
        "assertion": idp.assertion(id_number(n), now=datetime.now(UTC))})
    assert status == 201, body
    session = body["token"]
    notice = next(x for x in call(port, "GET", "/api/v1/notices")[2]
                  if x["purpose"] == "scoring")
    status, _, body = call(port, "POST", "/api/v1/me/consents",
                           {"notice_id": notice["id"], "categories": NORMAL,
                            "separate_consent": True}, session)
    assert status in (200, 201), body
    return str(session)


@pytest.fixture
def arranged_2x8(server_env: dict[str, Any]) -> Any:
    """As `arranged`, on gunicorn gthread 2 workers × 8 threads (the issue's setting)."""
    # The cap at 2 (default 4): the 3 partner threads per key exceed it, so it is exercised.
    env = {**server_env["env"], "PENGCHENG_RESIDENT_CONCURRENCY": "2"}
    pengcheng(env, "db", "upgrade")
    server = Server(env, workers=2, threads=8)
    server.start()
    try:
        yield Arranged(server, env, server_env["idp"]), server_env["idp"]
    finally:
        server.kill()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else max(values)


def test_one_residents_held_row_locks_stop_only_that_residents_writes_and_only_for_the_lock_timeout(
        arranged_2x8: Any, private_pg: PrivatePostgres, db: Database) -> None:
    arranged, idp = arranged_2x8
    port = arranged.server.port
    merchant = add_points(arranged, db.url, AWARDED)
    others = [sign_in_reader(arranged, idp, n) for n in OTHERS]
    stock = {n: [token(arranged, "points_redemption" if n % 2 else "medical_credit",
                       merchant if n % 2 else arranged.hospital) for _ in range(STOCK)]
             for n in range(RETRIERS)}
    # the locked resident's first hold, so that the credit row exists to be locked
    first = Write(AUTHORIZE, arranged.hospital["api_key"], {
        "token": token(arranged, "medical_credit", arranged.hospital),
        "out_request_no": "r-first", "amount_fen": 100}).send(port)
    assert first.status == 201, first.answer

    stop = threading.Event()
    reads: list[Attempt] = []
    checks: list[Attempt] = []
    attempts: list[Attempt] = []
    writes: list[Write] = [first]
    threads = [threading.Thread(target=reader, args=(port, s, "other", stop, reads))
               for s in others]
    threads.append(threading.Thread(target=reader, args=(port, arranged.session, "locked",
                                                         stop, reads)))
    threads.append(threading.Thread(target=health, args=(port, stop, checks)))
    threads += [threading.Thread(target=retrier, args=(arranged, n, stock[n], merchant, stop,
                                                       attempts, writes))
                for n in range(RETRIERS)]
    for t in threads:
        t.start()
    time.sleep(BASE_S)
    holder = psycopg.connect(private_pg.url, autocommit=False)
    try:
        resident = holder.execute("SELECT id FROM residents WHERE id IN "
                                  "(SELECT resident_id FROM credit_accounts)").fetchone()
        assert resident is not None
        holder.execute("SELECT 1 FROM points_accounts WHERE resident_id = %s FOR UPDATE",
                       resident)
        holder.execute("SELECT 1 FROM credit_accounts WHERE resident_id = %s FOR UPDATE",
                       resident)
        locked_at = time.monotonic()
        time.sleep(HOLD_S)
    finally:
        released_at = time.monotonic()
        holder.rollback()
        holder.close()
    time.sleep(AFTER_S)
    stop.set()
    for t in threads:
        t.join(timeout=HOLD_S + 40)
        assert not t.is_alive(), "a load thread hung"

    # Other residents: every read 200, and as fast under the lock as before it.
    before = [a for a in reads if a.what == "other" and a.answered < locked_at]
    during = [a for a in reads if a.what == "other" and a.sent >= locked_at
              and a.answered <= released_at]
    assert before and during
    assert all(a.status == 200 for a in reads), {(a.what, a.status) for a in reads}
    base, held = [a.seconds for a in before], [a.seconds for a in during]
    assert p95(held) <= 2 * p95(base) + 0.3, (p95(base), p95(held))
    assert max(held) < LOCK_S, max(held)
    # The locked resident's own reads do not wait for the lock either (MVCC).
    locked_reads = [a.seconds for a in reads if a.what == "locked"
                    and a.sent >= locked_at and a.answered <= released_at]
    assert locked_reads and max(locked_reads) < LOCK_S, locked_reads

    # The locked resident's writes: only the documented 503, each within the bound.
    in_hold = [a for a in attempts if a.sent >= locked_at and a.answered <= released_at]
    assert {a.what for a in in_hold} == {REDEEM, AUTHORIZE}
    assert all(busy(a) for a in in_hold), {(a.status, str(a.body)[:80]) for a in in_hold
                                           if not busy(a)}
    # The first write in line waits `lock_timeout`; one queued behind it on the same row
    # waits for it first (PostgreSQL's tuple lock), then for the holder: two lock timeouts.
    # The statement timeout bounds any queue; the per-resident cap keeps it short.
    slowest = max(a.seconds for a in in_hold)
    assert slowest <= STATEMENT_S + 1.0, slowest
    waited = [a.seconds for a in in_hold if a.body["code"] == "database_busy"]
    assert statistics.median(waited) <= LOCK_S + 0.5, sorted(waited)
    refused = [a.seconds for a in in_hold if a.body["code"] == "resident_busy"]
    assert all(t < 0.5 for t in refused), refused
    codes = {c: sum(1 for a in in_hold if a.body["code"] == c) for c in BUSY}
    assert codes["database_busy"] > 0, codes
    # Nothing else, ever: a 2xx or the documented 503.
    assert all(a.status == 201 or busy(a) for a in attempts), {a.status for a in attempts}

    # /healthz answered throughout, from its own connection.
    assert checks and all(a.status == 200 and a.seconds < 1.0 for a in checks), \
        max(a.seconds for a in checks)

    # After the release every retried write went through, once.
    assert all(w.status == 201 for w in writes), [w.status for w in writes if w.status != 201]
    after = [a for a in attempts if a.sent > released_at + 1]
    # With the lock gone nothing waits for the database any more; the cap (lowered to 2 here,
    # for 3 threads a key) may still turn one of three simultaneous writes away at once.
    assert after and any(a.status == 201 for a in after)
    assert all(a.status == 201 or (busy(a) and a.body["code"] == "resident_busy"
                                   and a.seconds < 0.5) for a in after), \
        {(a.status, str(a.body)[:80]) for a in after if a.status != 201}
    keys = {path: {w.key for w in writes if w.path == path} for path in (REDEEM, AUTHORIZE)}
    stored_exactly(db, Acknowledged(writes), keys, awarded=AWARDED)  # type: ignore[arg-type]
    print(f"held lock: reads p95 before {p95(base) * 1000:.0f} ms, under the lock "
          f"{p95(held) * 1000:.0f} ms (max {max(held) * 1000:.0f} ms, {len(held)} reads); "
          f"locked resident's writes during the hold {len(in_hold)} answered 503 {codes}, "
          f"database_busy median {statistics.median(waited):.2f} s, slowest {slowest:.2f} s, "
          f"resident_busy slowest {max(refused, default=0) * 1000:.0f} ms; "
          f"healthz {len(checks)} checks, slowest {max(a.seconds for a in checks) * 1000:.0f} "
          f"ms; writes {len(writes)} stored once each")
