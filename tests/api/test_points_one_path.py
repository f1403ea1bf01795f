"""A redemption has one implementation, `pc_redeem` (rewards/points/sql/redemption.sql): one
statement whatever the case. These tests attack the cases a second, Python path once took: a
partner's first redemption, lots past their expiry, a retry whose token has expired since,
another body for the same order, an order already in the ledger, a broken invariant. Every
answer is pinned (it is what partners parse), and a refusal writes nothing.

Orders racing for the same points are in `test_points_concurrency.py`.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from app.runtime import runtime
from core.errors import DomainError
from core.idempotency import PartnerRequest, body_hash, iso
from core.identity import Partner
from rewards.models import AccessEntry, ConsumedToken
from rewards.points import expiry, ledger
from rewards.points.models import Account, Draw, Leg, Lot, Redemption, Transfer
from rewards.points.redemption import redeem
from tests.support.factories import bearer
from tests.support.points import PointsWorld, run_job
from tests.support.statements import statements

WRITTEN = (PartnerRequest, ConsumedToken, AccessEntry, Account, Transfer, Leg, Lot, Redemption,
           Draw)

TYPE = {"type": "about:blank"}
LIMIT = {  # issue 20: over the balance, its unexpired lots or the per-order limit, alike
    **TYPE, "status": 422, "code": "limit_exceeded",
    "title": "The resident cannot use this much now",
    "detail": "the resident cannot use this much of this benefit now; they can see why in "
              "Pengcheng Score",
    "detail_zh": "该市民当前不能使用这么多额度，可在鹏城分中查看原因"}
PROBLEMS: dict[str, dict[str, Any]] = {  # what partners get (one path since issue 18)
    "insufficient_points": LIMIT,
    "unexpired": LIMIT,
    "points_over_limit": LIMIT,
    "token_replayed": {
        **TYPE, "status": 409, "code": "token_replayed",
        "title": "The token has already been used", "detail": "the token has already been used"},
    "token_expired": {
        **TYPE, "status": 422, "code": "token_expired", "title": "The token has expired",
        "detail": "the token has expired; ask the resident to refresh it"},
    "idempotency_conflict": {
        **TYPE, "status": 409, "code": "idempotency_conflict",
        "title": "The same idempotency key was used with a different request body",
        "detail": "points.redeem: key 'order-1' was first used with a different body",
        "detail_zh": "同一业务单号已用于不同的请求内容"},
    "conflict": {
        **TYPE, "status": 409, "code": "conflict", "title": "Conflict",
        "detail": "out_order_no 'order-x' was already redeemed"},
    "internal_error": {
        **TYPE, "status": 500, "code": "internal_error", "title": "Error",
        "detail": "An unexpected error occurred; it has been logged",
        "detail_zh": "服务出现意外错误，已记录"},
}


@pytest.fixture
def world(app, client, idp) -> PointsWorld:
    w = PointsWorld(app, client, idp)
    warm(w, w.points_token())
    return w


def redeemed(w: PointsWorld, points: int, order: str, token: str | None = None
             ) -> tuple[Any, list[str]]:
    """Redeem (the token asked for first); the response and the statements it sent."""
    token = token or w.points_token()
    with statements(w.app) as seen:
        response = w.redeem(points, order, token=token)
    return response, seen


def warm(w: PointsWorld, token: str) -> None:
    """The shop's key and the token's signing key in this process's caches (an introspection:
    it consumes nothing and touches no points)."""
    response = w.client.post("/partner/v1/tokens/introspect", headers=bearer(w.shop_key),
                             json={"token": token})
    assert response.status_code == 200, response.get_json()


def one_statement(seen: list[str], function: str = "pc_redeem(") -> None:
    assert len(seen) == 1 and function in seen[0], [q[:80] for q in seen]


def counts(app: Any) -> dict[str, int]:
    with app.app_context(), runtime().uow() as uow:
        return {model.__name__: uow.session.scalar(select(func.count()).select_from(model)) or 0
                for model in WRITTEN}


def problem(response: Any) -> dict[str, Any]:
    """The problem+json a partner gets, without the per-request id."""
    assert response.mimetype == "application/problem+json"
    body = dict(response.get_json())
    assert body.pop("request_id")
    return body


def in_session(w: PointsWorld, statement: Any) -> list[Any]:
    with w.app.app_context(), runtime().uow() as uow:
        return list(uow.session.execute(statement))


def clearing_of(w: PointsWorld) -> list[Any]:
    return in_session(w, select(Account.kind, Account.partner_id, Account.balance,
                                Account.created_at)
                      .where(Account.code == f"clearing:{w.shop.id.hex}"))


# -- the common case ----------------------------------------------------------------------------

def test_a_redemption_is_one_statement_and_a_retry_gets_the_same_bytes(world, clock):
    w = world
    w.give(1000)
    token = w.points_token()
    first, seen = redeemed(w, 300, "order-1", token)
    assert first.status_code == 201, first.get_json()
    one_statement(seen)
    answer = first.get_json()
    assert answer == {"redemption_id": answer["redemption_id"], "sub": answer["sub"],
                      "points": 300, "out_order_no": "order-1", "refunded": 0,
                      "refundable": 300, "created_at": iso(clock.now())}
    before = counts(w.app)
    again, seen = redeemed(w, 300, "order-1", token)
    one_statement(seen)
    assert again.status_code == 201 and again.get_data() == first.get_data()
    assert counts(w.app) == before
    assert w.balance() == 700
    assert w.reconciliation()["ok"]


def test_the_partners_first_redemption_creates_its_clearing_account_in_the_same_statement(
        world, clock):
    w = world
    w.give(50, expires_in=timedelta(days=30))
    w.give(70, expires_in=timedelta(days=20))
    w.give(40, expires_in=timedelta(days=25))
    assert clearing_of(w) == []
    response, seen = redeemed(w, 100, "order-1")
    assert response.status_code == 201, response.get_json()
    one_statement(seen)
    assert clearing_of(w) == [("clearing", w.shop.id, None, clock.now())]
    assert redeemed(w, 20, "order-2")[0].status_code == 201  # the account is found, not made
    assert len(clearing_of(w)) == 1
    shop, resident = f"clearing:{w.shop.id.hex}", f"resident:{w.resident_id.hex}"
    assert in_session(w, select(Transfer.key, Account.code, Leg.amount)
                      .join(Transfer, Transfer.id == Leg.transfer_id)
                      .join(Account, Account.id == Leg.account_id)
                      .where(Transfer.kind == "redeem").order_by(Transfer.key, Leg.id)) == [
        (f"redeem:{w.shop.id.hex}:order-1", resident, -100),
        (f"redeem:{w.shop.id.hex}:order-1", shop, 100),
        (f"redeem:{w.shop.id.hex}:order-2", resident, -20),
        (f"redeem:{w.shop.id.hex}:order-2", shop, 20)]
    # drawn from the lots that expire soonest: 70 (day 20), then 40 (day 25), then 50
    assert in_session(w, select(Redemption.out_order_no, Lot.points, Draw.points)
                      .join(Redemption, Redemption.id == Draw.redemption_id)
                      .join(Lot, Lot.id == Draw.lot_id)
                      .order_by(Redemption.out_order_no, Lot.expires_at)) == [
        ("order-1", 70, 70), ("order-1", 40, 30), ("order-2", 40, 10), ("order-2", 50, 10)]
    assert w.balance() == 40
    assert w.reconciliation()["ok"]


def test_a_refused_first_redemption_leaves_no_clearing_account_behind(world, clock):
    w = world
    w.give(100, expires_in=timedelta(days=1))
    w.give(10, expires_in=timedelta(days=30))
    clock.advance(days=1)
    w.relogin()
    response, seen = redeemed(w, 50, "order-1")  # the balance says 110, the lots 10
    one_statement(seen)
    assert problem(response) == PROBLEMS["unexpired"]
    assert clearing_of(w) == []


# -- lots past their expiry --------------------------------------------------------------------

def test_a_lot_that_expired_just_now_is_expired_first_then_the_rest_is_redeemed(world, clock):
    w = world
    w.give(500, expires_in=timedelta(days=10))
    w.give(300, expires_in=timedelta(days=10, seconds=1))  # still spendable a second longer
    w.give(300, expires_in=timedelta(days=100))
    clock.advance(days=10)  # the first lot's expires_at is now
    w.relogin()
    before = counts(w.app)
    response, seen = redeemed(w, 400, "order-1")
    assert response.status_code == 201, response.get_json()
    one_statement(seen)
    assert w.balance() == 200
    lots = in_session(w, select(Lot.id, Lot.points, Lot.remaining, Lot.expired)
                      .order_by(Lot.expires_at))
    assert [tuple(lot)[1:] for lot in lots] == [(500, 0, 500), (300, 0, 0), (300, 200, 0)]
    gone = lots[0].id.hex
    resident, sink = f"resident:{w.resident_id.hex}", "expiry"
    assert in_session(w, select(Transfer.key, Transfer.reference, Transfer.at, Account.code,
                                Leg.amount)
                      .join(Transfer, Transfer.id == Leg.transfer_id)
                      .join(Account, Account.id == Leg.account_id)
                      .where(Transfer.kind == "expire").order_by(Leg.id)) == [
        (f"expire:{gone}", gone, clock.now(), resident, -500),
        (f"expire:{gone}", gone, clock.now(), sink, 500)]
    after = counts(w.app)
    assert after["Transfer"] - before["Transfer"] == 2  # the expiry and the redemption
    assert w.reconciliation()["ok"]


def test_more_than_the_unexpired_points_is_refused_and_expires_nothing(world, clock):
    w = world
    w.give(500, expires_in=timedelta(days=10))
    w.give(300, expires_in=timedelta(days=100))
    clock.advance(days=11)
    w.relogin()
    token = w.points_token()
    before = counts(w.app)
    response, seen = redeemed(w, 301, "order-1", token)  # the stored balance is 800
    one_statement(seen)
    assert problem(response) == PROBLEMS["unexpired"]
    assert counts(w.app) == before  # the expiry rolled back with the refusal
    again = w.redeem(300, "order-1", token=token)  # the token was not used up
    assert again.status_code == 201, again.get_json()
    assert w.balance() == 0
    assert w.reconciliation()["ok"]


def test_the_expiry_job_runs_the_same_function_as_a_redemption(app, world, clock):
    w = world
    w.give(500, expires_in=timedelta(days=10))
    clock.advance(days=10)
    with statements(app) as seen:
        assert run_job(app, "points.expire")["points"] == 500
    assert any("pc_points_expire(" in s for s in seen), seen
    assert not [s for s in seen if "UPDATE points_lots" in s or "INSERT INTO points_" in s]
    assert in_session(w, select(Transfer.key).where(Transfer.kind == "expire")) == [
        (f"expire:{lot.hex}",) for (lot,) in in_session(w, select(Lot.id))]
    with app.app_context(), runtime().uow() as uow:  # nothing is due twice
        account = ledger.resident_account(uow.session, w.resident_id, clock.now())
        assert account is not None
        assert expiry.due_total(uow.session, account, clock.now()) == 0
        assert expiry.expire_account(uow.session, account, clock.now()) == 0
    assert w.reconciliation()["ok"]


# -- retries whose token expired since ---------------------------------------------------------

def test_a_retry_after_the_token_expired_gets_the_stored_answer_and_nothing_else(world, clock):
    w = world
    w.give(100)
    token = w.points_token()
    first = w.redeem(10, "order-1", token=token)
    assert first.status_code == 201, first.get_json()
    clock.advance(seconds=600)  # past any token's lifetime
    before = counts(w.app)
    again, seen = redeemed(w, 10, "order-1", token)
    one_statement(seen, "pc_redeemed_answer(")
    assert again.status_code == 201 and again.get_data() == first.get_data()
    other_body, seen = redeemed(w, 11, "order-1", token)
    one_statement(seen, "pc_redeemed_answer(")
    assert problem(other_body) == PROBLEMS["idempotency_conflict"]
    new_order, seen = redeemed(w, 10, "order-2", token)
    one_statement(seen, "pc_redeemed_answer(")
    assert problem(new_order) == PROBLEMS["token_expired"]
    assert counts(w.app) == before  # no claim is left for order-2
    assert w.balance() == 90


@pytest.mark.parametrize("first_attempt", ["commits", "rolls back"])
def test_a_retry_with_an_expired_token_waits_for_the_first_attempt_in_flight(
        app, world, clock, first_attempt):
    w = world
    token = w.points_token()
    answer = {"redemption_id": "from the first attempt"}
    with app.app_context(), runtime().uow() as uow:
        partner = uow.session.get(Partner, w.shop.id)
        engine = runtime().engine
    digest = body_hash({"token": token, "points": 10})
    outcome: list[Any] = []

    def retry() -> None:
        with app.app_context():
            try:
                outcome.append(redeem(runtime().uow, token, partner=partner,
                                      out_order_no="order-1", points=10,
                                      now=clock.now() + timedelta(seconds=600),
                                      ctx=runtime().tokens))
            except DomainError as exc:
                outcome.append(exc.code)

    with engine.connect() as first:  # the first attempt's claim, not committed yet
        first.execute(text("SELECT pc_claim_request(:p, 'points.redeem', 'order-1', :h, :now,"
                           " CAST(:a AS json))"),
                      {"p": w.shop.id, "h": digest, "now": clock.now(),
                       "a": '{"redemption_id": "from the first attempt"}'})
        thread = threading.Thread(target=retry)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive() and not outcome  # waiting on the claim
        first.commit() if first_attempt == "commits" else first.rollback()
        thread.join(10)
    assert outcome == ([answer] if first_attempt == "commits" else ["token_expired"])


# -- refusals: pinned, one statement, nothing written ---------------------------------------------

@pytest.mark.parametrize("story", ["points_over_limit", "insufficient_points", "token_replayed",
                                   "idempotency_conflict"])
def test_a_refusal_is_one_statement_and_writes_nothing(world, story):
    w = world
    w.give(20000 if story == "points_over_limit" else 5)
    token = w.points_token()
    points = {"points_over_limit": 5001, "insufficient_points": 6, "token_replayed": 1,
              "idempotency_conflict": 2}[story]
    if story in ("token_replayed", "idempotency_conflict"):  # the token's first use
        assert w.redeem(1, "order-1", token=token).status_code == 201
    order = "order-2" if story == "token_replayed" else "order-1"
    before = counts(w.app), w.balance()
    response, seen = redeemed(w, points, order, token)
    one_statement(seen)
    assert problem(response) == PROBLEMS[story]
    assert (counts(w.app), w.balance()) == before


def test_an_order_already_in_the_ledger_by_other_means_is_a_conflict(world, clock):
    w = world
    w.give(100)
    with w.app.app_context(), runtime().uow() as uow:  # e.g. an import, without a claim
        ledger.post(uow.session, key=f"redeem:{w.shop.id.hex}:order-x", kind="redeem",
                    now=clock.now(), reference="order-x",
                    legs=[(ledger.system_account(uow.session, "issuance", clock.now()), -1),
                          (ledger.clearing_account(uow.session, w.shop.id, clock.now()), 1)])
        uow.commit()
    token = w.points_token()
    before = counts(w.app)
    response, seen = redeemed(w, 5, "order-x", token)
    one_statement(seen)
    assert problem(response) == PROBLEMS["conflict"]
    assert counts(w.app) == before and w.balance() == 100
    assert w.redeem(5, "order-y", token=token).status_code == 201  # the token is still good
    assert w.reconciliation()["ok"]


def test_lots_that_do_not_cover_the_balance_are_an_error_not_a_refusal(world):
    w = world
    w.give(100)
    with w.app.app_context(), runtime().uow() as uow:  # a broken invariant
        uow.session.execute(update(Account).where(Account.resident_id == w.resident_id)
                            .values(balance=Account.balance + 50))
        uow.commit()
    token = w.points_token()
    before = counts(w.app)
    response, seen = redeemed(w, 120, "order-1", token)
    one_statement(seen)
    assert problem(response) == PROBLEMS["internal_error"]
    assert counts(w.app) == before
    assert not w.reconciliation()["ok"]  # reported, never papered over
    assert w.redeem(100, "order-1", token=token).status_code == 201  # what the lots hold
