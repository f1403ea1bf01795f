"""Shared by the fault tests that write money-like state (no tests here).

* `add_points`: a merchant (CLI), the arranged resident's consent to 信用积分兑换 (HTTP) and an
  award of points (the earning service, as a rule would).
* `Writes`: threads that redeem points and hold credit through the partner API, each with a fresh
  token and its own `out_*_no`, recording every answer — acknowledged (201), refused, or
  interrupted (no answer at all: the connection died with the server; or a 5xx).
* `Answered` and `undocumented`: every answer a load saw, and the ones no fault may cause.
* `at_once`: writes sent at the same moment.

What the database holds afterwards is judged in `tests.faults.verdicts`.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.db import make_engine
from tests.faults.conftest import Arranged, call, pengcheng

REDEEM = "/partner/v1/points/redemptions"
AUTHORIZE = "/partner/v1/medical-credit/authorizations"
ANSWER_ID = {REDEEM: "redemption_id", AUTHORIZE: "authorization_id"}
ANSWER_PATHS = (REDEEM, AUTHORIZE)


# -- arranging ----------------------------------------------------------------------------------

def add_points(arranged: Arranged, pg_url: str, points: int) -> dict[str, Any]:
    """A merchant serving points_redemption; the resident consents to it and earns `points`."""
    merchant = pengcheng(arranged.env, "partners", "create", "--name", "fault-merchant",
                         "--kind", "merchant", "--scenario", "points_redemption")
    port = arranged.server.port
    notice = next(n for n in call(port, "GET", "/api/v1/notices")[2]
                  if n["purpose"] == "scenario:points_redemption")
    status, _, body = call(port, "POST", "/api/v1/me/consents",
                           {"notice_id": notice["id"], "separate_consent": True},
                           arranged.session)
    assert status in (200, 201), body
    give_points(pg_url, points)
    return merchant


def give_points(pg_url: str, points: int) -> None:
    """Award points to the (only) resident through the earning service."""
    import app.models  # noqa: F401  (every table, for the foreign keys)
    from rewards.points.earning import award

    engine = make_engine(pg_url)
    try:
        with Session(engine) as session:
            resident_id = session.scalars(text("SELECT id FROM residents")).one()
            now = datetime.now(UTC)
            assert award(session, resident_id=resident_id, points=points,
                         key=f"earn:fault:{uuid.uuid4().hex}", rule="fault", now=now,
                         expires_at=now + timedelta(days=365))
            session.commit()
    finally:
        engine.dispose()


def token(arranged: Arranged, scenario: str, partner: dict[str, Any], port: int | None = None
          ) -> str:
    status, _, body = call(port or arranged.server.port, "POST", "/api/v1/me/tokens",
                           {"scenario": scenario, "partner": partner["client_id"]},
                           arranged.session)
    assert status == 201, body
    return body["token"]


def limit_fen(arranged: Arranged) -> int:
    """The resident's credit line, as the resident sees it (a hospital is never told it)."""
    status, _, body = call(arranged.server.port, "GET", "/api/v1/me/medical-credit", None,
                           arranged.session)
    assert status == 200 and body["line_fen"] > 0, body
    return int(body["line_fen"])


# -- load ---------------------------------------------------------------------------------------

class Answered(NamedTuple):
    """One answer a load got: when (monotonic), to what, and what (status None: no answer)."""

    at: float
    what: str
    status: int | None
    headers: dict[str, str]
    body: Any


def ask(port: int, what: str, method: str, path: str, body: Any = None,
        token: str | None = None) -> Answered:
    """`call`, recording a dead connection (no answer) instead of raising."""
    try:
        status, headers, answer = call(port, method, path, body, token)
    except (OSError, http.client.HTTPException) as exc:
        return Answered(time.monotonic(), what, None, {}, repr(exc))
    return Answered(time.monotonic(), what, status, headers, answer)


def token_and_introspection(arranged: Arranged) -> list[Answered]:
    """The resident asks a 先诊后付 token; if one is issued, the hospital introspects it."""
    port = arranged.server.port
    got = ask(port, "token", "POST", "/api/v1/me/tokens", {
        "scenario": "medical_credit", "partner": arranged.hospital["client_id"]},
        arranged.session)
    if got.status != 201:
        return [got]
    return [got, ask(port, "introspect", "POST", "/partner/v1/tokens/introspect",
                     {"token": got.body["token"]}, arranged.hospital["api_key"])]


def unavailable(a: Answered) -> bool:
    """The documented answer while PostgreSQL is away: 503 problem+json, code
    `database_unavailable`, `Retry-After` of at least one second."""
    retry = a.headers.get("retry-after", "")
    return (a.status == 503
            and a.headers.get("content-type", "").startswith("application/problem+json")
            and isinstance(a.body, dict) and a.body.get("code") == "database_unavailable"
            and retry.isdigit() and int(retry) >= 1)


def undocumented(answers: list[Answered], *, database_down: bool = False) -> list[Answered]:
    """Answers no fault may cause: anything but a 2xx (no answer at all: a connection our
    server reset; a 500; a refusal) — except, if `database_down`, the documented 503."""
    return [a for a in answers if not (
        (a.status is not None and 200 <= a.status < 300)
        or (database_down and unavailable(a)))]


@dataclass
class Write:
    """One partner write: what was sent, and what came back (status None: no answer)."""

    path: str
    api_key: str
    body: dict[str, Any]
    status: int | None = None
    answer: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0  # when the (last) answer came, monotonic

    @property
    def key(self) -> str:
        return self.body.get("out_order_no") or self.body["out_request_no"]

    @property
    def id(self) -> str:
        return self.answer[ANSWER_ID[self.path]]

    def send(self, port: int) -> Write:
        """Send it (again) on `port`; a dead connection leaves status None."""
        got = ask(port, self.path, "POST", self.path, self.body, self.api_key)
        self.at, self.status, self.headers, self.answer = got.at, got.status, got.headers, got.body
        return self

    def answered(self) -> Answered:
        return Answered(self.at, self.path, self.status, self.headers, self.answer)


class Writes:
    """`threads` clients that alternate a redemption of 1 point and a hold of `hold_fen`, each
    with a fresh token and a unique `out_*_no`, until `stop()`, pausing `pause` seconds after
    each write. Asking a token while the server is down is simply tried again; a write without
    an answer (or with a 5xx) is *interrupted*.

    With `ahead` > 0 each thread keeps that many tokens of each kind in stock, so it can still
    send writes when token requests fail (PostgreSQL away): the writes meet the fault too."""

    def __init__(self, arranged: Arranged, merchant: dict[str, Any], *, threads: int = 6,
                 hold_fen: int = 100, ahead: int = 0, pause: float = 0.0) -> None:
        self.arranged, self.merchant, self.hold_fen = arranged, merchant, hold_fen
        self.ahead, self.pause = ahead, pause
        self.writes: list[Write] = []
        self.tokens: list[Answered] = []  # every answer to a token request
        self.token_errors: list[Any] = []  # a token refused (not a dead connection)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sending = 0  # writes sent and not yet answered
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True)
                         for n in range(threads)]

    def start(self) -> Writes:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a load thread hung"

    def _token(self, scenario: str, partner: dict[str, Any]) -> str | None:
        got = ask(self.arranged.server.port, "token", "POST", "/api/v1/me/tokens",
                  {"scenario": scenario, "partner": partner["client_id"]},
                  self.arranged.session)
        with self._lock:
            self.tokens.append(got)
            if got.status is not None and got.status != 201:
                self.token_errors.append((got.status, got.body))
        if got.status == 201:
            return got.body["token"]
        time.sleep(0.05)
        return None

    def _take(self, scenario: str, partner: dict[str, Any], stock: list[str]) -> str | None:
        """The oldest token in `stock`, after topping it up to `ahead` + 1 while token
        requests succeed; None if there is none."""
        while len(stock) <= self.ahead and not self._stop.is_set():
            jwt = self._token(scenario, partner)
            if jwt is None:
                break
            stock.append(jwt)
        return stock.pop(0) if stock else None

    def _run(self, n: int) -> None:
        stock: dict[str, list[str]] = {REDEEM: [], AUTHORIZE: []}
        i = 0
        while not self._stop.is_set():
            i += 1
            if i % 2:
                jwt = self._take("points_redemption", self.merchant, stock[REDEEM])
                write = Write(REDEEM, self.merchant["api_key"],
                              {"token": jwt, "out_order_no": f"o-{n}-{i}", "points": 1})
            else:
                jwt = self._take("medical_credit", self.arranged.hospital, stock[AUTHORIZE])
                write = Write(AUTHORIZE, self.arranged.hospital["api_key"],
                              {"token": jwt, "out_request_no": f"r-{n}-{i}",
                               "amount_fen": self.hold_fen})
            if jwt is None:
                continue
            with self._lock:
                self._sending += 1
            write.send(self.arranged.server.port)
            with self._lock:
                self._sending -= 1
                self.writes.append(write)
            if self.pause:
                self._stop.wait(self.pause)

    def in_flight(self, timeout: float = 10) -> bool:
        """Wait until some write has been sent and not yet answered (most of a thread's time
        goes to asking tokens, so a fault thrown at random may catch no write)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._sending:
                return True
            time.sleep(0.0005)
        return False

    def answers(self) -> list[Answered]:
        """Every answer this load got: token requests and writes."""
        return self.tokens + [w.answered() for w in self.writes]

    def acknowledged(self, path: str | None = None) -> list[Write]:
        return [w for w in self.writes if w.status == 201 and path in (None, w.path)]

    def interrupted(self) -> list[Write]:
        return [w for w in self.writes if w.status is None or w.status >= 500]

    def refused(self) -> list[Write]:
        return [w for w in self.writes if w.status is not None and 201 != w.status < 500]


def at_once(sends: list[tuple[Write, int]]) -> list[Write]:
    """Send every write on its port at the same moment (a barrier), one thread each."""
    gate = threading.Barrier(len(sends))

    def send(write: Write, port: int) -> None:
        gate.wait(timeout=30)
        write.send(port)

    threads = [threading.Thread(target=send, args=pair) for pair in sends]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return [write for write, _ in sends]
