"""On PostgreSQL a redemption is one statement (`pc_redeem`, migration 0011); what it leaves to
the portable path (lots to expire, a partner's first redemption, a retry with an expired token)
still works, and it answers and writes exactly what the portable path does — its refusals
included, with nothing written.

Most tests run on both databases (on SQLite both paths are the portable one); the statement
counts are checked on PostgreSQL only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import services
from core import pgcall
from core.idempotency import PartnerRequest, iso
from rewards.models import AccessEntry, ConsumedToken
from rewards.points import redemption
from rewards.points.models import Account, Draw, Leg, Lot, Redemption, Transfer
from tests.api.test_points_support import PointsWorld
from tests.statements import on_pg, statements

WRITTEN = (PartnerRequest, ConsumedToken, AccessEntry, Transfer, Leg, Redemption, Draw)


@pytest.fixture
def world(app, client, idp) -> PointsWorld:
    return PointsWorld(app, client, idp)


def _leave(*_args: Any, **_kwargs: Any) -> Any:
    raise pgcall.PortablePath()


def portable(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on `redeem_once` takes the portable path, as on SQLite."""
    monkeypatch.setattr(redemption, "_redeem_pg", _leave)


def redeemed(w: PointsWorld, points: int, order: str, token: str | None = None
             ) -> tuple[Any, list[str]]:
    """Redeem (the token asked for first); the response and the statements the redemption
    sent."""
    token = token or w.points_token()
    with statements(w.app) as seen:
        response = w.redeem(points, order, token=token)
    return response, seen


def warm(w: PointsWorld) -> None:
    """A first redemption at the shop: from now on its clearing account exists."""
    w.give(1)
    assert w.redeem(1, "warm-up").status_code == 201


def counts(app: Any) -> dict[str, int]:
    with app.app_context(), services.uow() as uow:
        return {model.__name__: uow.session.scalar(select(func.count()).select_from(model)) or 0
                for model in WRITTEN}


def problem(response: Any) -> dict[str, Any]:
    """The problem+json a partner gets, without the per-request id."""
    body = dict(response.get_json())
    body.pop("request_id", None)
    return {"status": response.status_code, "mimetype": response.mimetype, **body}


# -- one statement ------------------------------------------------------------------------------

@pytest.mark.services
def test_a_redemption_on_postgresql_is_one_statement(pg_url, world):
    w = world
    w.give(1000)
    warm(w)
    token = w.points_token()
    response, seen = redeemed(w, 300, "order-1", token)
    assert response.status_code == 201, response.get_json()
    assert len(seen) == 1 and "pc_redeem" in seen[0], seen
    again, seen = redeemed(w, 300, "order-1", token)  # a retry: the stored answer
    assert len(seen) == 1 and again.status_code == 201
    assert again.get_data() == response.get_data()
    assert w.balance() == 700
    assert w.reconciliation()["ok"]


@pytest.mark.services
def test_every_refusal_on_postgresql_is_one_statement(pg_url, world):
    w = world
    w.give(100)
    warm(w)
    token = w.points_token()
    assert redeemed(w, 10, "order-1", token)[0].status_code == 201
    for points, order, code in [(11, "order-1", "idempotency_conflict"),
                                (10, "order-2", "token_replayed"),
                                (10001, "order-3", "points_over_limit"),
                                (101, "order-4", "insufficient_points")]:
        response, seen = redeemed(w, points, order, token if code == "token_replayed" else None)
        assert response.get_json()["code"] == code
        assert len(seen) == 1, (code, seen)


# -- the same answers and rows as the portable path ----------------------------------------------

def _normalized(w: PointsWorld, value: Any) -> Any:
    """`value` with this world's ids (partner, resident) named instead."""
    if isinstance(value, str):
        return value.replace(w.shop.id.hex, "{shop}").replace(w.resident_id.hex, "{resident}")
    if isinstance(value, (list, tuple)):
        return type(value)(_normalized(w, v) for v in value)
    if isinstance(value, dict):
        return {k: _normalized(w, v) for k, v in value.items()}
    return value


def ledger_rows(w: PointsWorld) -> dict[str, list[Any]]:
    """What the redemptions wrote, without the generated ids."""
    with w.app.app_context(), services.uow() as uow:
        s = uow.session
        rows = {
            "transfers": [(t.key, t.kind, iso(t.at), t.rule, t.reference, t.reverses_id)
                          for t in s.scalars(select(Transfer).where(Transfer.kind == "redeem")
                                             .order_by(Transfer.key))],
            "legs": [tuple(r) for r in s.execute(
                select(Transfer.key, Account.code, Leg.amount)
                .join(Transfer, Transfer.id == Leg.transfer_id)
                .join(Account, Account.id == Leg.account_id)
                .where(Transfer.kind == "redeem").order_by(Transfer.key, Leg.id))],
            "redemptions": [(r.out_order_no, r.points, r.refunded, iso(r.created_at),
                             r.transfer_id == t.id, r.account_id == t_account)
                            for r, t, t_account in s.execute(
                                select(Redemption, Transfer, Leg.account_id)
                                .join(Transfer, Transfer.id == Redemption.transfer_id)
                                .join(Leg, (Leg.transfer_id == Transfer.id) & (Leg.amount < 0))
                                .order_by(Redemption.out_order_no))],
            "draws": [tuple(r) for r in s.execute(
                select(Redemption.out_order_no, Lot.points, Draw.points, Draw.refunded)
                .join(Redemption, Redemption.id == Draw.redemption_id)
                .join(Lot, Lot.id == Draw.lot_id)
                .order_by(Redemption.out_order_no, Lot.expires_at, Lot.points))],
            "lots": [tuple(r) for r in s.execute(
                select(Lot.points, Lot.remaining, Lot.expired)
                .order_by(Lot.expires_at, Lot.points))],
        }
    return _normalized(w, rows)


@pytest.mark.parametrize("path", ["fast", "portable"])
def test_both_paths_answer_and_write_the_same(world, clock, monkeypatch, path):
    w = world
    warm(w)
    if path == "portable":
        portable(monkeypatch)
    w.give(50, expires_in=timedelta(days=30))
    w.give(70, expires_in=timedelta(days=20))
    w.give(40, expires_in=timedelta(days=25))
    token = w.points_token()
    first, seen = redeemed(w, 100, "order-1", token)
    if path == "fast" and on_pg(w.app):
        assert len(seen) == 1, seen
    answer = first.get_json()
    assert answer.pop("redemption_id")
    assert answer == {"sub": answer["sub"], "points": 100, "out_order_no": "order-1",
                      "refunded": 0, "refundable": 100, "created_at": iso(clock.now())}
    assert redeemed(w, 20, "order-2")[0].status_code == 201
    shop = "clearing:{shop}"
    assert ledger_rows(w) == {
        "transfers": [("redeem:{shop}:order-1", "redeem", iso(clock.now()), None, "order-1",
                       None),
                      ("redeem:{shop}:order-2", "redeem", iso(clock.now()), None, "order-2",
                       None),
                      ("redeem:{shop}:warm-up", "redeem", iso(clock.now()), None, "warm-up",
                       None)],
        "legs": [("redeem:{shop}:order-1", "resident:{resident}", -100),
                 ("redeem:{shop}:order-1", shop, 100),
                 ("redeem:{shop}:order-2", "resident:{resident}", -20),
                 ("redeem:{shop}:order-2", shop, 20),
                 ("redeem:{shop}:warm-up", "resident:{resident}", -1),
                 ("redeem:{shop}:warm-up", shop, 1)],
        "redemptions": [("order-1", 100, 0, iso(clock.now()), True, True),
                        ("order-2", 20, 0, iso(clock.now()), True, True),
                        ("warm-up", 1, 0, iso(clock.now()), True, True)],
        # the soonest to expire first
        "draws": [("order-1", 70, 70, 0), ("order-1", 40, 30, 0), ("order-2", 40, 10, 0),
                  ("order-2", 50, 10, 0), ("warm-up", 1, 1, 0)],
        "lots": [(70, 0, 0), (40, 0, 0), (50, 40, 0), (1, 0, 0)],
    }
    assert w.reconciliation()["ok"]


# -- what the function leaves to the portable path ------------------------------------------------

def test_lots_past_their_expiry_are_expired_first_then_the_order_is_redeemed(world, clock):
    w = world
    warm(w)
    w.give(500, expires_in=timedelta(days=10))
    w.give(300, expires_in=timedelta(days=100))
    clock.advance(days=11)
    w.relogin()
    response, seen = redeemed(w, 100, "order-1")
    assert response.status_code == 201, response.get_json()
    if on_pg(w.app):
        assert len(seen) > 1  # the portable path expired the lot
    assert w.balance() == 200
    with w.app.app_context(), services.uow() as uow:
        kinds = list(uow.session.scalars(select(Transfer.kind)))
    assert kinds.count("expire") == 1 and kinds.count("redeem") == 2
    assert w.reconciliation()["ok"]
    again, seen = redeemed(w, 100, "order-2")  # nothing is due any more: the fast path again
    assert again.status_code == 201, again.get_json()
    if on_pg(w.app):
        assert len(seen) == 1, seen
    assert w.balance() == 100


def test_the_first_redemption_at_a_partner_creates_its_clearing_account(world):
    w = world
    w.give(100)
    code = f"clearing:{w.shop.id.hex}"
    with w.app.app_context(), services.uow() as uow:
        assert uow.session.scalar(select(Account.id).where(Account.code == code)) is None
    response = w.redeem(10, "order-1")
    assert response.status_code == 201, response.get_json()
    with w.app.app_context(), services.uow() as uow:
        clearing = uow.session.scalar(select(Account.id).where(Account.code == code))
        assert clearing is not None
        assert uow.session.scalar(select(func.sum(Leg.amount))
                                  .where(Leg.account_id == clearing)) == 10
    assert w.balance() == 90
    assert w.reconciliation()["ok"]


def test_a_retry_after_the_token_expired_still_gets_the_stored_answer(world, clock):
    w = world
    w.give(100)
    warm(w)
    token = w.points_token()
    first = w.redeem(10, "order-1", token=token)
    assert first.status_code == 201, first.get_json()
    clock.advance(seconds=600)  # past any token's lifetime
    again = w.redeem(10, "order-1", token=token)
    assert again.status_code == 201 and again.get_data() == first.get_data()
    other = w.redeem(10, "order-2", token=token)  # a new order with it is refused
    assert other.get_json()["code"] == "token_expired"
    assert w.balance() == 90


# -- refusals: the portable path's problems, nothing written --------------------------------------

@pytest.mark.parametrize("story", ["over_limit", "insufficient", "replayed", "conflict"])
def test_a_refusal_is_the_portable_paths_problem_and_writes_nothing(world, monkeypatch, story):
    w = world
    w.give(20000 if story == "over_limit" else 5)
    warm(w)
    token = w.points_token()
    points = {"over_limit": 10001, "insufficient": 6, "replayed": 1, "conflict": 2}[story]
    if story in ("replayed", "conflict"):  # the token's first use, the order's first body
        assert w.redeem(1, "order-1", token=token).status_code == 201
    order = "order-2" if story == "replayed" else "order-1"
    before = counts(w.app), w.balance()
    fast, seen = redeemed(w, points, order, token)
    if on_pg(w.app):
        assert len(seen) == 1, seen
    assert (counts(w.app), w.balance()) == before
    portable(monkeypatch)
    slow = w.redeem(points, order, token=token)  # nothing was written: the same request again
    assert (counts(w.app), w.balance()) == before
    assert problem(fast) == problem(slow)
    assert problem(fast)["code"] == {"over_limit": "points_over_limit",
                                     "insufficient": "insufficient_points",
                                     "replayed": "token_replayed",
                                     "conflict": "idempotency_conflict"}[story]
