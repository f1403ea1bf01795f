"""Concurrent redemptions on PostgreSQL (real parallel connections): one transfer per
`out_order_no`, and never an overdraft however many orders race for the same points.

The partner has redeemed before (its clearing account exists), so every call is one `pc_redeem`
statement (migration 0011): the races are the function's."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import services
from core.errors import DomainError
from core.identity import Partner
from rewards.points.ledger import clearing_account, reconcile
from rewards.points.models import Redemption, Transfer
from rewards.points.redemption import redeem_once
from tests.api.test_points_support import PointsWorld
from tests.statements import statements

THREADS = 50


@pytest.fixture
def world(app, client, idp) -> PointsWorld:
    w = PointsWorld(app, client, idp)
    with app.app_context(), services.uow() as uow:  # as after the shop's first redemption
        clearing_account(uow.session, w.shop.id, services.clock.now())
        uow.commit()
    return w


def race(app: Any, partner_id: Any, calls: list[tuple[str, str, int]]) -> list[Any]:
    """Run `redeem_once` for each (token, out_order_no, points) at the same moment; check
    that each was one call of the PostgreSQL function (never the portable path)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = []
    lock = threading.Lock()

    def counter(token: str, order: str, points: int) -> None:
        with app.app_context():
            with services.uow() as uow:
                partner = uow.session.get(Partner, partner_id)
            barrier.wait()
            try:
                result: Any = redeem_once(services.uow, token, partner=partner,
                                          out_order_no=order, points=points,
                                          now=services.clock.now())
            except DomainError as exc:
                result = exc.code
        with lock:
            outcomes.append(result)

    with statements(app) as sent:
        threads = [threading.Thread(target=counter, args=call) for call in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert len(outcomes) == len(calls)
    # one function call each (a cold cache may also look the signing key up)
    assert sum("pc_redeem" in s for s in sent) == len(calls), Counter(sent)
    assert not [s for s in sent if "points_" in s or "partner_requests" in s], Counter(sent)
    return outcomes


def ledger_state(app: Any) -> tuple[int, int, dict]:
    with app.app_context(), services.uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(Redemption)) or 0,
                uow.session.scalar(select(func.count()).select_from(Transfer)
                                   .where(Transfer.kind == "redeem")) or 0,
                reconcile(uow.session).as_dict())


@pytest.mark.services
def test_fifty_concurrent_retries_of_one_order_make_one_transfer(pg_url, world, app):
    world.give(1000)
    token = world.points_token()
    outcomes = race(app, world.shop.id, [(token, "same-order", 30)] * THREADS)
    assert all(isinstance(o, dict) for o in outcomes), Counter(map(str, outcomes))
    assert len({o["redemption_id"] for o in outcomes}) == 1  # 50 identical answers
    redemptions, transfers, check = ledger_state(app)
    assert (redemptions, transfers) == (1, 1)
    assert check["ok"], check
    assert world.balance() == 970


@pytest.mark.services
def test_fifty_concurrent_orders_that_exceed_the_balance_never_overdraw(pg_url, world, app):
    world.give(1000)
    tokens = [world.points_token() for _ in range(THREADS)]
    outcomes = race(app, world.shop.id, [(t, f"order-{i}", 70) for i, t in enumerate(tokens)])
    won = [o for o in outcomes if isinstance(o, dict)]
    refused = Counter(o for o in outcomes if not isinstance(o, dict))
    assert len(won) == 1000 // 70  # 14 orders fit; every other one is refused
    assert refused == {"insufficient_points": THREADS - len(won)}
    redemptions, transfers, check = ledger_state(app)
    assert redemptions == transfers == len(won)
    assert check["ok"], check
    assert world.balance() == 1000 - 70 * len(won)
