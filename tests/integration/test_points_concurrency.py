"""Concurrent redemptions (real parallel connections): one transfer per `out_order_no`, never
an overdraft however many orders race for the same points, with lots falling due and at a
partner that has never redeemed before; and one clearing account however many residents make
a partner's first redemption at once. Every call is one `pc_redeem` statement
(rewards/points/sql/redemption.sql): the races are the function's."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core.errors import DomainError
from core.identity import Partner, Person, create_resident
from rewards.points.earning import award
from rewards.points.ledger import reconcile
from rewards.points.models import Account, Redemption, Transfer
from rewards.points.redemption import redeem
from tests.support.factories import id_number
from tests.support.points import PointsWorld, consent_to_redemption, token_for
from tests.support.statements import statements

THREADS = 50


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    """A connection for every racer: a pool smaller than the race keeps some waiting for one,
    and on a busy machine that wait ends in the pool's timeout (the service's bounded wait,
    tested in test_bounded_waits), which would hide the race."""
    return {**config, "DB_POOL_SIZE": THREADS}


@pytest.fixture
def world(app, client, idp) -> PointsWorld:
    return PointsWorld(app, client, idp)  # the shop has never redeemed: no clearing account


def race(app: Any, partner_id: Any, calls: list[tuple[str, str, int]]) -> list[Any]:
    """Run `redeem` for each (token, out_order_no, points) at the same moment; check
    that each was one call of the PostgreSQL function and nothing else touched the ledger."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = []
    lock = threading.Lock()

    def counter(token: str, order: str, points: int) -> None:
        with app.app_context():
            with runtime().uow() as uow:
                partner = uow.session.get(Partner, partner_id)
            barrier.wait()
            try:
                result: Any = redeem(runtime().uow, token, partner=partner,
                                     out_order_no=order, points=points,
                                     now=runtime().clock.now(), ctx=runtime().tokens)
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
    with app.app_context(), runtime().uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(Redemption)) or 0,
                uow.session.scalar(select(func.count()).select_from(Transfer)
                                   .where(Transfer.kind == "redeem")) or 0,
                reconcile(uow.session).as_dict())


def clearing_accounts(app: Any) -> int:
    with app.app_context(), runtime().uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Account)
                                  .where(Account.kind == "clearing")) or 0


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
    assert refused == {"limit_exceeded": THREADS - len(won)}
    redemptions, transfers, check = ledger_state(app)
    assert redemptions == transfers == len(won)
    assert check["ok"], check
    assert world.balance() == 1000 - 70 * len(won)


@pytest.mark.services
def test_two_orders_that_together_exceed_the_balance_while_a_lot_falls_due(pg_url, world, app,
                                                                             clock):
    world.give(100, expires_in=timedelta(days=1))
    world.give(100, expires_in=timedelta(days=100))
    clock.advance(days=1)  # the first lot is due now; the balance still says 200
    world.relogin()
    tokens = [world.points_token() for _ in range(2)]
    outcomes = race(app, world.shop.id, [(t, f"order-{i}", 60) for i, t in enumerate(tokens)])
    assert Counter(o if isinstance(o, str) else "redeemed" for o in outcomes) == {
        "redeemed": 1, "limit_exceeded": 1}
    redemptions, transfers, check = ledger_state(app)
    assert (redemptions, transfers) == (1, 1)
    assert check["ok"], check
    with app.app_context(), runtime().uow() as uow:  # expired once, by whichever came first
        assert uow.session.scalar(select(func.count()).select_from(Transfer)
                                  .where(Transfer.kind == "expire")) == 1
    assert world.balance() == 40
    assert clearing_accounts(app) == 1


RESIDENTS = 8


@pytest.mark.services
def test_residents_racing_to_a_partners_first_redemption_make_one_clearing_account(
        pg_url, world, app):
    with app.app_context():
        now = runtime().clock.now()
        residents = []
        for n in range(RESIDENTS):
            with runtime().uow() as uow:
                resident = create_resident(uow.session, runtime().keyring,
                                           Person("测试", id_number(100 + n), None), now=now)
                award(uow.session, resident_id=resident.id, points=100, key=f"earn:t:{n}",
                      rule="t", now=now, expires_at=now + timedelta(days=30))
                uow.commit()
            consent_to_redemption(app, resident.id, now)
            residents.append(resident.id)
        with runtime().uow() as uow:
            shop = uow.session.get(Partner, world.shop.id)
        tokens = [token_for(resident_id, shop, now) for resident_id in residents]
    outcomes = race(app, world.shop.id, [(t, f"order-{i}", 30) for i, t in enumerate(tokens)])
    assert all(isinstance(o, dict) for o in outcomes), Counter(map(str, outcomes))
    assert clearing_accounts(app) == 1
    redemptions, transfers, check = ledger_state(app)
    assert redemptions == transfers == RESIDENTS
    assert check["ok"], check
