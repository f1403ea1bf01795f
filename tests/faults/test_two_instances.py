"""Two app instances (two gunicorn servers) on one database and one Redis: the double-spend and
overspend guarantees hold across them. Requests fired at the same moment, split between the
instances; the verdicts are read straight from the database."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.faults.conftest import Arranged, Server
from tests.faults.support import AUTHORIZE, REDEEM, Write, add_points, at_once, limit_fen, token
from tests.faults.verdicts import Database

pytestmark = pytest.mark.services

N = 8  # concurrent requests per check, half to each instance


@pytest.fixture
def ports(arranged: Arranged) -> Iterator[tuple[int, int]]:
    """The arranged server and a second one on the same database, Redis and keys."""
    second = Server(arranged.env)
    second.start()
    try:
        yield arranged.server.port, second.port
    finally:
        second.kill(signal.SIGTERM)


def _statuses(writes: list[Write]) -> list[tuple[int | None, str | None]]:
    return sorted((w.status, w.answer.get("code") if isinstance(w.answer, dict) else w.answer)
                  for w in writes)


def test_points_are_spent_once_and_never_overdrawn_across_two_instances(
        arranged: Arranged, db: Database, ports: tuple[int, int]) -> None:
    shop = add_points(arranged, db.url, 100)
    key = shop["api_key"]

    # The same order sent to both instances at once: one transfer, every answer the first.
    jwt = token(arranged, "points_redemption", shop)
    same = at_once([(Write(REDEEM, key, {"token": jwt, "out_order_no": "same", "points": 10}),
                     ports[i % 2]) for i in range(N)])
    assert {w.status for w in same} == {201}, _statuses(same)
    assert len({w.id for w in same}) == 1 and all(w.answer == same[0].answer for w in same)
    assert set(db.redemptions()) == {"same"}
    assert db.value("SELECT count(*) FROM points_transfers WHERE kind = 'redeem'") == 1
    assert db.balance() == 90

    # One token, different orders on both instances: it pays for one of them only.
    jwt = token(arranged, "points_redemption", shop)
    reused = at_once([(Write(REDEEM, key, {"token": jwt, "out_order_no": f"reuse-{i}",
                                           "points": 10}), ports[i % 2]) for i in range(N)])
    assert _statuses(reused) == [(201, None)] + [(409, "token_replayed")] * (N - 1)
    assert db.balance() == 80

    # Orders that together exceed the balance (8 × 30 > 80): exactly the two that fit.
    over = at_once([(Write(REDEEM, key, {"token": token(arranged, "points_redemption", shop),
                                         "out_order_no": f"over-{i}", "points": 30}),
                     ports[i % 2]) for i in range(N)])
    assert _statuses(over) == [(201, None)] * 2 + [(422, "limit_exceeded")] * (N - 2)
    assert db.balance() == 20
    stored = db.redemptions()
    assert sum(r.points for r in stored.values()) == 80 and len(stored) == 4
    assert db.half_applied_redemptions() == [] and db.unanswered_claims() == 0
    assert db.ledger() == dict.fromkeys(db.ledger(), 0)


def test_a_credit_line_is_held_once_and_never_overspent_across_two_instances(
        arranged: Arranged, db: Database, ports: tuple[int, int]) -> None:
    line = limit_fen(arranged)
    key = arranged.hospital["api_key"]

    def hold(jwt: str, out_request_no: str, amount_fen: int) -> Write:
        return Write(AUTHORIZE, key, {"token": jwt, "out_request_no": out_request_no,
                                      "amount_fen": amount_fen})

    # The same registration sent to both instances at once: one hold, every answer the first.
    jwt = token(arranged, "medical_credit", arranged.hospital)
    same = at_once([(hold(jwt, "same", 1000), ports[i % 2]) for i in range(N)])
    assert {w.status for w in same} == {201}, _statuses(same)
    assert len({w.id for w in same}) == 1 and all(w.answer == same[0].answer for w in same)
    assert set(db.holds()) == {"same"}
    assert db.credit_account() == (line, 1000, 0)

    # One token, different registrations on both instances: one hold only.
    jwt = token(arranged, "medical_credit", arranged.hospital)
    reused = at_once([(hold(jwt, f"reuse-{i}", 1000), ports[i % 2]) for i in range(N)])
    assert _statuses(reused) == [(201, None)] + [(409, "token_replayed")] * (N - 1)
    assert db.credit_account() == (line, 2000, 0)

    # Holds that together exceed what is left: exactly the two that fit, never past the line.
    amount = (line - 2000) // 3 + 1
    over = at_once([(hold(token(arranged, "medical_credit", arranged.hospital), f"over-{i}",
                          amount), ports[i % 2]) for i in range(N)])
    assert _statuses(over) == [(201, None)] * 2 + [(422, "limit_exceeded")] * (N - 2)
    assert db.credit_account() == (line, 2000 + 2 * amount, 0)
    assert 2000 + 2 * amount <= line < 2000 + 3 * amount
    assert len(db.holds()) == 4
    assert db.credit_lines() == dict.fromkeys(db.credit_lines(), 0)
