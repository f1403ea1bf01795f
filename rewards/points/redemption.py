"""Redemption of points by partners (信用积分兑换) and refunds as reversing transfers.

A redemption is written once, in PostgreSQL: `pc_redeem` (rewards/points/sql/redemption.sql)
does the whole use case in one statement on an autocommit connection, and `redeem` is its only
caller. Python checks what needs no database (the token's signature, times, audience and
scenario: `tokens.admit`) and builds the ids, the time and the answer; the function claims
`(partner, out_order_no)` and stores that answer with the claim (a retry gets the first answer,
another body `idempotency_conflict`), uses the token up (`pc_consume_token`, with the
scenario's exclusions: a resident listed since the token was issued is refused `use_declined`,
as introspection calls the token inactive), applies the entitlement's per-order limit, debits
the resident in one conditional UPDATE (which takes the account's row lock), expires the lots
past their expiry first (`pc_points_expire`, the expiry job's function too), draws from the
lots that expire soonest, creates the partner's clearing account on its first redemption, and
posts the transfer. A refusal rolls all of it back, the token included.

Why the rule lives in SQL: a redemption is a partner hot path (it must keep its ratio to the
bare endpoint in `bench/load/run.py --floor`), and one round trip is the least it can cost.
The rare cases (a first clearing account, lots to expire, a broken invariant) are a few more
lines of the same function rather than a second implementation in Python; none of them adds a
statement to the common case.

A token that `admit` refuses may still belong to a retry of an order already redeemed (it
expired since): `pc_redeemed_answer` gives the stored answer, or the refusal stands.

`refund` gives points back, in whole or in part, never more than was redeemed in total (a
conditional UPDATE on the redemption, backed by a CHECK). Points go back to the lots they came
from, newest first; the part whose lot has expired meanwhile goes to the `expiry` account in the
same transfer, so a refund never revives expired points. Refunds are rare: plain Python, and the
ledger's unique keys back it up.

Both are partner writes made idempotent by `core.idempotency.idempotent`, which owns the unit of
work and the replay (for `redeem` the claim is made inside `pc_redeem`: `in_sql=True`). Their
answers are `RedemptionView` and `RefundView`, stored as JSON and rendered by the partner API's
schemas, so a first answer and a replay are the same bytes.

    answer = redeem(runtime().uow, token, partner=shop, out_order_no="o-1", points=50,
                    now=now, ctx=runtime().tokens)
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from core import idempotency, pgcall
from core.db import UnitOfWork
from core.errors import Conflict
from core.idempotency import Answer, Claim, idempotent, plain
from core.identity import Partner
from rewards import tokens
from rewards.errors import LimitExceeded, TokenRejected
from rewards.points import ledger
from rewards.points.errors import RedemptionNotFound, RefundExceedsRedemption
from rewards.points.models import Draw, Lot, Redemption, Refund
from rewards.token_format import TokenContext

SCENARIO = "points_redemption"


# What pc_redeem's refusals mean (rewards/points/sql/redemption.sql). More points than the
# per-order limit, the balance or its unexpired lots: `limit_exceeded`, one refusal for all
# (the partner learns neither the limit nor the balance: issue 20).
REFUSALS: dict[str, pgcall.Refusal] = {
    **idempotency.REFUSALS, **tokens.REFUSALS,
    "limit_exceeded": lambda f: LimitExceeded(),
    "insufficient_points": lambda f: LimitExceeded(),  # pc_points_expire: unexpired lots short
    "conflict": lambda f: Conflict(f"out_order_no {f['out_order_no']!r} was already redeemed"),
}

_REDEEM = text(
    f"SELECT pc_redeem({tokens.CONSUME_ARGS}, :out_order_no, :body_hash, :points,"
    " :redemption_id, :transfer_id, CAST(:answer AS json), :exclusions)")
_REDEEMED = text("SELECT pc_redeemed_answer(:partner_id, :out_order_no, :body_hash, :now)")


@dataclass(frozen=True)
class RedemptionView:
    """What the partner sees of a redemption (never the resident's balance)."""

    redemption_id: uuid.UUID
    sub: str
    points: int
    out_order_no: str
    refunded: int
    refundable: int
    created_at: datetime

    @classmethod
    def of(cls, r: Redemption) -> RedemptionView:
        return cls(r.id, r.sub, r.points, r.out_order_no, r.refunded, r.points - r.refunded,
                   r.created_at)


@dataclass(frozen=True)
class RefundView:
    """What the partner sees of a refund: how much went back, and how much had expired."""

    refund_id: uuid.UUID
    redemption_id: uuid.UUID
    sub: str
    out_refund_no: str
    points: int
    returned: int  # back in the resident's balance
    expired: int  # whose lot expired meanwhile
    refunded_total: int
    refundable: int
    created_at: datetime


def redemption(uow: UnitOfWork, partner: Partner, redemption_id: Any) -> RedemptionView:
    """One of the partner's redemptions, with what has been refunded."""
    return RedemptionView.of(redemption_of(uow.session, partner, redemption_id))


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


@idempotent("points.refund", key="out_refund_no",
            body=lambda a: {"redemption_id": str(a["redemption_id"]), "points": a["points"]})
def refund(uow: UnitOfWork, *, partner: Partner, redemption_id: Any, out_refund_no: str,
           points: int | None, now: datetime) -> RefundView:
    """Give back `points` (all that is refundable when None) of the partner's redemption, once
    per `(partner, out_refund_no)`: a retry gets the first answer."""
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
    return RefundView(row.id, found.id, found.sub, out_refund_no, amount, live, amount - live,
                      found.refunded, found.points - found.refunded, now)


@idempotent("points.redeem", key="out_order_no",
            body=lambda a: {"token": a["token"], "points": a["points"]}, in_sql=True)
def redeem(uow: UnitOfWork, claim: Claim, token: Any, *, partner: Partner, out_order_no: str,
           points: int, now: datetime, ctx: TokenContext) -> Answer:
    """Use the resident's token and take `points` from them for the partner's order, once per
    `(partner, out_order_no)`: a retry gets the first answer. One statement (`pc_redeem`, which
    claims the order itself), on the wrapper's autocommit unit of work."""
    points = ledger.check_points(points)
    try:
        claims = tokens.admit(uow, token, partner=partner, scenario=SCENARIO, now=now, ctx=ctx)
    except TokenRejected as refused:
        return _first_answer(uow, claim, refused, now=now)
    redemption_id = uuid.uuid4()
    answer = RedemptionView(redemption_id, claims.sub, points, out_order_no, 0, points, now)
    params = {**tokens.db_args(claims, partner, now), "out_order_no": out_order_no,
              "body_hash": claim.digest, "points": points, "redemption_id": redemption_id,
              "transfer_id": uuid.uuid4(), "answer": json.dumps(plain(answer)),
              "exclusions": tokens.shipped_exclusions(claims.scn)}
    result: Answer = pgcall.call(uow, _REDEEM, params, REFUSALS)
    return result


def _first_answer(uow: UnitOfWork, claim: Claim, refused: TokenRejected, *,
                  now: datetime) -> Answer:
    """The stored answer to this very request (a retry whose token has expired since), or
    `refused`; another body with the same `out_order_no` is `idempotency_conflict`."""
    refusals: dict[str, pgcall.Refusal] = {**idempotency.REFUSALS,
                                           "not_redeemed": lambda _f: refused}
    result: Answer = pgcall.call(
        uow, _REDEEMED, {"partner_id": claim.partner_id, "out_order_no": claim.key,
                         "body_hash": claim.digest, "now": now}, refusals)
    return result
