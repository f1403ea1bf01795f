"""Redemption of points by partners (信用积分兑换) and refunds as reversing transfers.

`redeem` uses up the resident's token (`rewards.tokens.consume`, scenario `points_redemption`)
and debits the points in the same transaction: one conditional UPDATE on the resident's account,
then the lots that expire first are drawn from. A refusal (a bad token, not enough points, over
the entitlement's per-order limit) rolls back everything, the token included.

On PostgreSQL `redeem_once` does all of that in one statement, `pc_redeem` (`redeem_pg`,
migration 0011), whose refusals are this module's errors (`REFUSALS`). The code here is the
portable path: SQLite runs it, and so does PostgreSQL for what the function leaves to it (lots
due to expire, a partner's first redemption, a token failing its checks while a retry may be
owed its stored answer).

`refund` gives points back, in whole or in part, never more than was redeemed in total (a
conditional UPDATE on the redemption, backed by a CHECK). Points go back to the lots they came
from, newest first; the part whose lot has expired meanwhile goes to the `expiry` account in the
same transfer, so a refund never revives expired points.

Partners name their writes (`out_order_no`, `out_refund_no`); the HTTP layer runs both through
`core.idempotency.run_once`, and the ledger's unique keys back it up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import idempotency, pgcall
from core.db import NewUnitOfWork, UnitOfWork
from core.errors import Conflict
from core.idempotency import body_hash, iso, run_once
from core.identity import Partner
from rewards import tokens
from rewards.errors import TokenRejected
from rewards.points import expiry, ledger, redeem_pg
from rewards.points.errors import (
    InsufficientPoints,
    PointsOverLimit,
    RedemptionNotFound,
    RefundExceedsRedemption,
)
from rewards.points.models import (
    ACCOUNTS,
    DRAWS,
    LOTS,
    REDEMPTIONS,
    Draw,
    Lot,
    Redemption,
    Refund,
)

SCENARIO = "points_redemption"


def _insufficient() -> InsufficientPoints:
    return InsufficientPoints("the resident does not have enough points for this order",
                              detail_zh="积分不足")


def _over_limit(limit: int) -> PointsOverLimit:
    return PointsOverLimit(f"at most {limit} points per order for this resident",
                           detail_zh=f"每单最多可兑换 {limit} 积分", limit=limit)


# What pc_redeem's refusals mean (migration 0011): the portable path's own errors.
REFUSALS: dict[str, pgcall.Refusal] = {
    **idempotency.REFUSALS, **tokens.REFUSALS,
    "points_over_limit": lambda f: _over_limit(f["limit"]),
    "insufficient_points": lambda f: _insufficient(),
}


def _debit_resident(session: Session, resident_id: uuid.UUID, points: int) -> uuid.UUID:
    """Take `points` from the resident in one conditional UPDATE (which also takes the
    account's row lock); the account id."""
    accounts = ACCOUNTS
    account_id = session.connection().scalar(
        update(accounts).where(accounts.c.resident_id == resident_id,
                               accounts.c.balance >= points)
        .values(balance=accounts.c.balance - points).returning(accounts.c.id))
    if account_id is None:
        raise _insufficient()
    return account_id


def _draw(lots: list[Any], points: int, account_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    """Which unexpired lots give `points`, the soonest to expire first."""
    taken: list[tuple[uuid.UUID, int]] = []
    left = points
    for lot in lots:
        n = min(left, int(lot.remaining))
        taken.append((lot.id, n))
        left -= n
        if not left:
            return taken
    # the balance said yes but the lots say no: never spend what is not there
    raise ledger.LedgerError(f"lots of account {account_id} do not cover its balance")


def redemption_view(r: Redemption) -> dict[str, Any]:
    """What the partner sees of a redemption (never the resident's balance)."""
    return view(r.id, sub=r.sub, points=r.points, out_order_no=r.out_order_no,
                refunded=r.refunded, created_at=r.created_at)


def view(redemption_id: uuid.UUID, *, sub: str, points: int, out_order_no: str, refunded: int,
         created_at: datetime) -> dict[str, Any]:
    """`redemption_view` from its fields (a redemption about to be written has no row yet)."""
    return {"redemption_id": str(redemption_id), "sub": sub, "points": points,
            "out_order_no": out_order_no, "refunded": refunded,
            "refundable": points - refunded, "created_at": iso(created_at)}


def redeem(uow: UnitOfWork, token: Any, *, partner: Partner, out_order_no: str, points: int,
           now: datetime) -> dict[str, Any]:
    """Use the resident's token and take `points` from them for the partner's order.

    Does not commit (the caller's unit of work does, once)."""
    points = ledger.check_points(points)
    claims = tokens.consume(uow, token, partner=partner, scenario=SCENARIO, now=now)
    assert claims.resident_id is not None
    limit = claims.ent.get("max_points_per_order")
    if isinstance(limit, int) and points > limit:
        raise _over_limit(limit)
    found = take(uow.session, resident_id=claims.resident_id, partner_id=partner.id,
                 sub=claims.sub, out_order_no=out_order_no, points=points, now=now)
    return redemption_view(found)


def take(session: Session, *, resident_id: uuid.UUID, partner_id: uuid.UUID, sub: str,
         out_order_no: str, points: int, now: datetime) -> Redemption:
    """The ledger side of a redemption (after the token): debit, expire, draw, post."""
    points = ledger.check_points(points)
    account_id = _debit_resident(session, resident_id, points)  # the account's lock from here
    lots = expiry.open_lots(session, account_id)
    expiry.expire_locked(session, account_id, now,  # never spend points already expired
                         lots=[lot for lot in lots if lot.expires_at <= now])
    taken = _draw([lot for lot in lots if lot.expires_at > now], points, account_id)
    conn, lots_table = session.connection(), LOTS
    for lot_id, n in taken:
        conn.execute(update(lots_table).where(lots_table.c.id == lot_id)
                     .values(remaining=lots_table.c.remaining - n))
    clearing = ledger.clearing_account(session, partner_id, now)
    assert clearing is not None
    found = Redemption(id=uuid.uuid4(), partner_id=partner_id, account_id=account_id,
                       out_order_no=out_order_no, sub=sub, points=points, refunded=0,
                       created_at=now)
    try:
        found.transfer_id = ledger.post(
            session, key=f"redeem:{partner_id.hex}:{out_order_no}", kind="redeem", now=now,
            reference=out_order_no, legs=[(account_id, -points), (clearing, points)])
    except IntegrityError as exc:  # run_once answers retries; this is the ledger's backstop
        if "points_transfers" in str(exc.orig) and "key" in str(exc.orig):
            raise Conflict(f"out_order_no {out_order_no!r} was already redeemed") from exc
        raise
    conn.execute(insert(REDEMPTIONS).values(
        id=found.id, partner_id=partner_id, account_id=account_id,
        transfer_id=found.transfer_id, out_order_no=out_order_no, sub=sub, points=points,
        refunded=0, created_at=now))
    conn.execute(insert(DRAWS), [{"redemption_id": found.id, "lot_id": lot_id,
                                           "points": n, "refunded": 0} for lot_id, n in taken])
    return found


def redemption_of(session: Session, partner: Partner, redemption_id: Any) -> Redemption:
    """The partner's own redemption; another partner's is "not found", like a missing one."""
    try:
        key = uuid.UUID(str(redemption_id))
    except ValueError:
        key = None
    found = session.get(Redemption, key) if key else None
    if found is None or found.partner_id != partner.id:
        raise RedemptionNotFound("no such redemption of yours", redemption_id=str(redemption_id))
    return found


def _claim_refund(session: Session, found: Redemption, points: int | None) -> int:
    """Add to the redemption's refunded total in one conditional UPDATE (its row lock)."""
    amount = found.points - found.refunded if points is None else points
    if amount > 0:
        done = session.execute(
            update(Redemption).where(Redemption.id == found.id,
                                     Redemption.refunded + amount <= Redemption.points)
            .values(refunded=Redemption.refunded + amount))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return amount
    session.refresh(found)
    refundable = found.points - found.refunded
    raise RefundExceedsRedemption(
        f"only {refundable} of the {found.points} points redeemed can still be refunded",
        detail_zh=f"可退积分仅剩 {refundable}", refundable=refundable)


def _restore_plan(session: Session, redemption_id: uuid.UUID, amount: int, now: datetime
                  ) -> tuple[list[tuple[uuid.UUID, int, bool]], int]:
    """Which draws take the points back (newest lot first) and how many are still live."""
    draws = session.execute(
        select(Draw.lot_id, Draw.points, Draw.refunded, Lot.expires_at, Lot.expired)
        .join(Lot, Lot.id == Draw.lot_id).where(Draw.redemption_id == redemption_id)
        .order_by(Lot.expires_at.desc(), Lot.id.desc()))
    plan: list[tuple[uuid.UUID, int, bool]] = []
    left, live = amount, 0
    for lot_id, drawn, refunded, expires_at, expired in draws:
        take = min(left, int(drawn) - int(refunded))
        if take <= 0:
            continue
        alive = expires_at > now and not expired
        plan.append((lot_id, take, alive))
        live += take if alive else 0
        left -= take
        if not left:
            break
    if left:
        raise ledger.LedgerError(f"draws of redemption {redemption_id} do not cover the refund")
    return plan, live


def refund(uow: UnitOfWork, *, partner: Partner, redemption_id: Any, out_refund_no: str,
           points: int | None, now: datetime) -> dict[str, Any]:
    """Give back `points` (all that is refundable when None) of the partner's redemption.

    Does not commit (the caller's unit of work does, once)."""
    if points is not None:
        points = ledger.check_points(points)
    session = uow.session
    found = redemption_of(session, partner, redemption_id)
    if session.scalar(select(Refund.id).where(Refund.partner_id == partner.id,
                                              Refund.out_refund_no == out_refund_no)):
        raise Conflict(f"out_refund_no {out_refund_no!r} was already used")
    amount = _claim_refund(session, found, points)  # redemption row lock first
    plan, live = _restore_plan(session, found.id, amount, now)
    if live:
        ledger.credit(session, found.account_id, live)  # then the account's
    else:
        ledger.lock(session, found.account_id)
    for lot_id, take, alive in plan:
        session.execute(update(Draw).where(Draw.redemption_id == found.id, Draw.lot_id == lot_id)
                        .values(refunded=Draw.refunded + take))
        if alive:
            session.execute(update(Lot).where(Lot.id == lot_id)
                            .values(remaining=Lot.remaining + take))
    clearing = ledger.clearing_account(session, partner.id, now)
    assert clearing is not None
    legs = [(clearing, -amount), (found.account_id, live)]
    if amount - live:
        legs.append((ledger.system_account(session, "expiry", now), amount - live))
    transfer_id = ledger.post(session, key=f"refund:{partner.id.hex}:{out_refund_no}",
                              kind="refund", now=now, legs=legs, reference=out_refund_no,
                              reverses_id=found.transfer_id)
    row = Refund(id=uuid.uuid4(), redemption_id=found.id, partner_id=partner.id,
                 transfer_id=transfer_id, out_refund_no=out_refund_no, points=amount,
                 created_at=now)
    session.add(row)
    session.flush()
    session.refresh(found)
    return {"refund_id": str(row.id), "redemption_id": str(found.id), "sub": found.sub,
            "out_refund_no": out_refund_no, "points": amount, "returned": live,
            "expired": amount - live, "refunded_total": found.refunded,
            "refundable": found.points - found.refunded, "created_at": iso(now)}


# -- idempotent entry points (what the partner API calls) ----------------------------------------

def redeem_once(new_uow: NewUnitOfWork, token: Any, *, partner: Partner, out_order_no: str,
                points: int, now: datetime) -> dict[str, Any]:
    """`redeem`, once per `(partner, out_order_no)`: a retry gets the first answer.

    On PostgreSQL, after the token's own checks, one statement (`redeem_pg`); the portable
    path (`run_once` + `redeem`) runs on SQLite, when the function leaves the case to it, and
    when the token fails those checks (a retry may still be owed its stored answer).
    """
    ledger.check_points(points)
    body = {"token": token, "points": points}
    with new_uow(autocommit=True) as uow:
        if pgcall.on_postgresql(uow):
            try:
                return _redeem_pg(uow, token, partner=partner, out_order_no=out_order_no,
                                  points=points, digest=body_hash(body), now=now)
            except pgcall.PortablePath:
                pass
    return run_once(new_uow, partner_id=partner.id, operation="points.redeem", key=out_order_no,
                    body=body, now=now,
                    effect=lambda uow: redeem(uow, token, partner=partner,
                                              out_order_no=out_order_no, points=points, now=now))


def _redeem_pg(uow: UnitOfWork, token: Any, *, partner: Partner, out_order_no: str,
               points: int, digest: str, now: datetime) -> dict[str, Any]:
    try:
        claims = tokens.admit(uow, token, partner=partner, scenario=SCENARIO, now=now)
    except TokenRejected:
        raise pgcall.PortablePath() from None
    redemption_id = uuid.uuid4()
    answer = view(redemption_id, sub=claims.sub, points=points, out_order_no=out_order_no,
                  refunded=0, created_at=now)
    return redeem_pg.redeem(uow, claims, partner=partner, redemption_id=redemption_id,
                            out_order_no=out_order_no, points=points, now=now, digest=digest,
                            answer=answer, refusals=REFUSALS)


def refund_once(new_uow: Callable[[], UnitOfWork], *, partner: Partner, redemption_id: Any,
                out_refund_no: str, points: int | None, now: datetime) -> dict[str, Any]:
    """`refund`, once per `(partner, out_refund_no)`: a retry gets the first answer."""
    if points is not None:
        ledger.check_points(points)
    return run_once(new_uow, partner_id=partner.id, operation="points.refund",
                    key=out_refund_no, now=now,
                    body={"redemption_id": str(redemption_id), "points": points},
                    effect=lambda uow: refund(uow, partner=partner, redemption_id=redemption_id,
                                              out_refund_no=out_refund_no, points=points,
                                              now=now))
