"""先诊后付 use cases: authorize (hold), capture (bill), void, pay; hold expiry.

Design overview
---------------
* **The line.** A hold is taken against the line in the resident's token: `ent.limit_fen`,
  which this service signed at most five minutes earlier after deciding the resident's tier
  and eligibility (the score is not recomputed at the counter). If an operator stopped
  disclosing `limit_fen`, the line is recomputed from the current score instead. Exclusions
  (an overdue bill, a dishonest-debtor record) are re-checked at authorization, so a bill that
  fell overdue after the token was shown still suspends credit care.
* **Money never overspent.** All amounts move by conditional UPDATEs on the resident's account
  row (`rewards.credit.account`) under CHECK constraints; holds, bills and payments are rows
  with status CHECKs and `(partner, out_*_no)` unique keys.
* **Idempotent partner writes.** `authorize`, `capture` and `pay` run through
  `core.idempotency.run_once` keyed by `out_request_no`, `out_bill_no`, `out_payment_no`;
  `void` is idempotent by its state (voiding a voided hold answers the same).
* A refusal rolls everything back, including the token's consumption: nothing is half done.
* **One round trip on PostgreSQL.** `authorize` and `capture` first try `fastpath` (the same
  use case as one function call); the functions below are the portable path, which serves
  SQLite and every case the functions hand back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, literal, select, update
from sqlalchemy.orm import Session

from core import notifications, recordops
from core.db import NewUnitOfWork, UnitOfWork
from core.idempotency import iso, run_once
from core.identity import Partner, Resident
from core.records import Record
from rewards import scenarios, tokens
from rewards.access import record_access
from rewards.credit import account, errors, fastpath, notices, standing
from rewards.credit.errors import yuan
from rewards.credit.models import CreditBill, CreditHold, CreditPayment
from rewards.credit.standing import Standing
from rewards.credit.terms import SCENARIO, Terms
from rewards.exclusions import active_exclusions

MAX_FEN = 10**11  # ¥1 billion: far above any line; keeps amounts sane


def _amount(value: Any, field: str = "amount_fen") -> int:
    if type(value) is not int or not 0 < value <= MAX_FEN:
        raise errors.InvalidAmount(f"{field} must be a positive integer number of fen",
                                   detail_zh="金额须为正整数（单位：分）")
    return value


# -- authorize ----------------------------------------------------------------------------------

def _line(claims: tokens.Claims, fallback: Standing | None) -> int:
    """The token's `ent.limit_fen`; if the scenario no longer discloses it, the line by the
    resident's current tier (computed before the write began)."""
    line = standing.token_line(claims)
    if line is not None:
        return line
    if (fallback is None or fallback.resident_id != claims.resident_id
            or not fallback.decision.eligible):
        return 0
    return int(fallback.decision.limits.get("limit_fen", 0))


def hold_answer(hold: CreditHold, *, sub: str | None = None,
                available_fen: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "authorization_id": str(hold.id), "out_request_no": hold.out_request_no,
        "amount_fen": hold.amount_fen, "status": hold.status,
        "created_at": iso(hold.created_at), "expires_at": iso(hold.expires_at),
        "closed_at": iso(hold.closed_at)}
    if sub is not None:
        out["sub"] = sub
    if available_fen is not None:
        out["available_fen"] = available_fen
    return out


def _authorize(uow: UnitOfWork, token: Any, *, partner: Partner, amount_fen: int,
               out_request_no: str, now: datetime, terms: Terms,
               fallback: Standing | None) -> dict[str, Any]:
    session = uow.session
    claims = tokens.consume(uow, token, partner=partner, scenario=SCENARIO, now=now)
    resident_id = claims.resident_id
    assert resident_id is not None
    scenario = scenarios.get(session, SCENARIO)
    if active_exclusions(session, resident_id, now, set(scenario.exclusions)):
        raise errors.credit_declined()
    line = _line(claims, fallback)
    after = account.reserve(session, resident_id, amount_fen, line, now)
    if after is None:  # no account yet, or holds past their expiry still count: tidy, retry
        account.ensure(session, resident_id, line, now)
        expire_holds(session, now, resident_id=resident_id)
        after = account.reserve(session, resident_id, amount_fen, line, now)
    if after is None:
        _line_now, held, owed = account.balances(session, resident_id)
        raise errors.insufficient_credit(max(0, line - held - owed))
    hold = CreditHold(id=uuid.uuid4(), resident_id=resident_id, partner_id=partner.id,
                      out_request_no=out_request_no, amount_fen=amount_fen, line_fen=line,
                      status="held", created_at=now, expires_at=now + terms.hold_ttl,
                      closed_at=None)
    session.add(hold)
    session.flush()
    available = line - after[0] - after[1]
    record_access(session, resident_id=resident_id, actor_kind="partner",
                  actor_id=partner.client_id, actor_name=partner.name, action="credit_hold",
                  outcome="held", scenario=SCENARIO, now=now,
                  learned={"sub": claims.sub, "amount_fen": amount_fen,
                           "available_fen": available})
    return hold_answer(hold, sub=claims.sub, available_fen=available)


def authorize(new_uow: NewUnitOfWork, token: Any, *, partner: Partner, amount_fen: int,
              out_request_no: str, now: datetime, terms: Terms) -> dict[str, Any]:
    """Hold `amount_fen` of the resident's line for `partner` (a hospital); idempotent by
    `out_request_no`. Consumes the token. One statement on PostgreSQL (`fastpath`)."""
    _amount(amount_fen)
    body = {"token": token, "amount_fen": amount_fen}
    answer = fastpath.authorize(new_uow, token, partner=partner, amount_fen=amount_fen,
                                out_request_no=out_request_no, body=body, now=now, terms=terms)
    if answer is not None:
        return answer
    fallback = None if _discloses_line(new_uow) else standing.for_token(
        new_uow, token, partner=partner, now=now)
    return run_once(new_uow, partner_id=partner.id, operation="medical_credit.authorize",
                    key=out_request_no, body=body, now=now, effect=lambda uow: _authorize(
                        uow, token, partner=partner, amount_fen=amount_fen,
                        out_request_no=out_request_no, now=now, terms=terms,
                        fallback=fallback))


def _discloses_line(new_uow: Callable[[], UnitOfWork]) -> bool:
    with new_uow() as uow:
        return "limit_fen" in scenarios.get(uow.session, SCENARIO).discloses


# -- capture and void ---------------------------------------------------------------------------

def _own_hold(session: Session, authorization_id: uuid.UUID, partner: Partner) -> CreditHold:
    hold = session.get(CreditHold, authorization_id, with_for_update=True)
    if hold is None or hold.partner_id != partner.id:  # another's looks like none at all
        raise errors.authorization_not_found()
    return hold


def _close(session: Session, hold: CreditHold, status: str, now: datetime) -> None:
    hold.status, hold.closed_at = status, now
    session.flush()
    account.release(session, hold.resident_id, hold.amount_fen, now)


def bill_answer(bill: CreditBill, hold: CreditHold | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bill_id": str(bill.id), "authorization_id": str(bill.hold_id),
        "out_bill_no": bill.out_bill_no, "amount_fen": bill.amount_fen,
        "paid_fen": bill.paid_fen, "owed_fen": bill.owed_fen, "status": bill.status,
        "created_at": iso(bill.created_at), "due_at": iso(bill.due_at),
        "overdue_at": iso(bill.overdue_at), "paid_at": iso(bill.paid_at)}
    if hold is not None:
        out["released_fen"] = hold.amount_fen - bill.amount_fen
    return out


def _capture(uow: UnitOfWork, authorization_id: uuid.UUID, *, partner: Partner,
             amount_fen: int, out_bill_no: str, now: datetime, terms: Terms) -> dict[str, Any]:
    session = uow.session
    hold = _own_hold(session, authorization_id, partner)
    if hold.status == "held" and hold.expires_at <= now:
        raise errors.authorization_closed(hold.status, lapsed=True)
    if hold.status != "held":
        raise errors.authorization_closed(hold.status)
    if amount_fen > hold.amount_fen:
        raise errors.amount_exceeds_hold(amount_fen, hold.amount_fen)
    hold.status, hold.closed_at = "captured", now
    bill = CreditBill(id=uuid.uuid4(), hold_id=hold.id, resident_id=hold.resident_id,
                      partner_id=partner.id, out_bill_no=out_bill_no, amount_fen=amount_fen,
                      paid_fen=0, status="open", created_at=now, due_at=now + terms.due,
                      reminded_at=None, overdue_at=None, paid_at=None, record_id=None)
    session.add(bill)
    session.flush()
    account.post(session, hold.resident_id, hold.amount_fen, amount_fen, now)
    notice = notices.bill_posted(partner.name, bill.id, amount_fen, bill.due_at)
    notifications.notify(session, resident_id=hold.resident_id, kind=notice.kind,
                         dedupe_key=notice.dedupe_key, now=now, title=notice.title,
                         body=notice.body, data=notice.data)
    return bill_answer(bill, hold)


def capture(new_uow: NewUnitOfWork, authorization_id: uuid.UUID, *, partner: Partner,
            amount_fen: int, out_bill_no: str, now: datetime, terms: Terms) -> dict[str, Any]:
    """Turn a hold into a bill of `amount_fen` (≤ the hold; the rest is released), due in
    `terms.due_days`; idempotent by `out_bill_no`. One statement on PostgreSQL (`fastpath`)."""
    _amount(amount_fen)
    body = {"authorization_id": str(authorization_id), "amount_fen": amount_fen}
    answer = fastpath.capture(new_uow, authorization_id, partner=partner, amount_fen=amount_fen,
                              out_bill_no=out_bill_no, body=body, now=now, terms=terms)
    if answer is not None:
        return answer
    return run_once(new_uow, partner_id=partner.id, operation="medical_credit.capture",
                    key=out_bill_no, body=body, now=now, effect=lambda uow: _capture(
                        uow, authorization_id, partner=partner, amount_fen=amount_fen,
                        out_bill_no=out_bill_no, now=now, terms=terms))


def void(uow: UnitOfWork, authorization_id: uuid.UUID, *, partner: Partner,
         now: datetime) -> dict[str, Any]:
    """Release a hold. Voiding a voided or expired hold answers its state again; a captured
    one cannot be voided."""
    session = uow.session
    hold = _own_hold(session, authorization_id, partner)
    if hold.status == "captured":
        raise errors.AuthorizationClosed("a captured authorization cannot be voided",
                                         detail_zh="预授权已结算，不能撤销",
                                         authorization_status="captured")
    if hold.status == "held":
        _close(session, hold, "expired" if hold.expires_at <= now else "voided", now)
    answer = hold_answer(hold)
    uow.commit()
    return answer


def expire_holds(session: Session, now: datetime, *, resident_id: uuid.UUID | None = None,
                 limit: int = 500) -> int:
    """Release holds past their expiry (rows another transaction has locked are skipped)."""
    stmt = select(CreditHold).where(CreditHold.status == "held", CreditHold.expires_at <= now)
    if resident_id is not None:
        stmt = stmt.where(CreditHold.resident_id == resident_id)
    stmt = stmt.order_by(CreditHold.expires_at).limit(limit).with_for_update(skip_locked=True)
    found = list(session.scalars(stmt))
    for hold in found:
        _close(session, hold, "expired", now)
    return len(found)


# -- pay ----------------------------------------------------------------------------------------

BILLS = cast(Table, CreditBill.__table__)


def payment_answer(payment: CreditPayment, bill: CreditBill) -> dict[str, Any]:
    return {"payment_id": str(payment.id), "bill_id": str(bill.id),
            "out_payment_no": payment.out_payment_no, "amount_fen": payment.amount_fen,
            "paid_fen": bill.paid_fen, "owed_fen": bill.owed_fen, "bill_status": bill.status,
            "due_at": iso(bill.due_at), "created_at": iso(payment.created_at)}


def _settled(session: Session, bill: CreditBill, now: datetime) -> None:
    """A bill just paid in full: repair its overdue record, if one was written. (An on-time
    repayment is credited by the bills job, off the payment path.)"""
    if bill.record_id is not None and bill.overdue_at is not None:
        record = session.get(Record, bill.record_id)
        if record is not None and record.status == "active":
            recordops.set_status(session, record, "repaired", actor="system", now=now,
                                 reason="medical credit bill paid")
    notifications.notify(
        session, resident_id=bill.resident_id, kind="medical_credit_paid",
        dedupe_key=f"credit-bill-paid:{bill.id}", now=now,
        title=("先诊后付账单已还清", "Credit care bill paid"),
        body=(f"账单 {yuan(bill.amount_fen)} 元已还清。",
              f"Your bill of ¥{yuan(bill.amount_fen)} is paid in full."),
        data={"bill_id": str(bill.id)})


def apply_payment(uow: UnitOfWork, bill_id: uuid.UUID, *, amount_fen: int,
                  out_payment_no: str, channel: str, partner_id: uuid.UUID | None,
                  now: datetime, resident_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Pay `amount_fen` towards a bill (partial allowed, never more than owed). The one
    payment path: payment-channel partners and the development demo channel both use it.
    `resident_id` restricts the bill to that resident's own. Does not commit."""
    _amount(amount_fen)
    session = uow.session
    bill = session.get(CreditBill, bill_id, with_for_update=True)
    if bill is None or (resident_id is not None and bill.resident_id != resident_id):
        raise errors.BillNotFound("no such bill", detail_zh="没有该账单")
    c = BILLS.c
    done = c.paid_fen + amount_fen == c.amount_fen
    result = session.execute(
        update(BILLS).where(c.id == bill.id, c.paid_fen + amount_fen <= c.amount_fen)
        .values(paid_fen=c.paid_fen + amount_fen,
                status=case((done, "paid"), else_=c.status),
                paid_at=case((done, literal(now, c.paid_at.type)), else_=c.paid_at)))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(bill)
        raise errors.PaymentExceedsDebt(
            f"{bill.owed_fen} fen is owed on this bill",
            detail_zh=f"该账单尚欠 {yuan(bill.owed_fen)} 元", owed_fen=bill.owed_fen)
    account.repay(session, bill.resident_id, amount_fen, now)
    payment = CreditPayment(id=uuid.uuid4(), bill_id=bill.id, partner_id=partner_id,
                            channel=channel, out_payment_no=out_payment_no,
                            amount_fen=amount_fen, created_at=now)
    session.add(payment)
    session.flush()
    session.refresh(bill)
    if bill.status == "paid":
        _settled(session, bill, now)
    return payment_answer(payment, bill)


def pay(new_uow: Callable[[], UnitOfWork], bill_id: uuid.UUID, *, partner: Partner,
        amount_fen: int, out_payment_no: str, now: datetime) -> dict[str, Any]:
    """A payment-channel partner's payment; idempotent by `out_payment_no`."""
    _amount(amount_fen)
    return run_once(new_uow, partner_id=partner.id, operation="medical_credit.payment",
                    key=out_payment_no, body={"bill_id": str(bill_id), "amount_fen": amount_fen},
                    now=now, effect=lambda uow: apply_payment(
                        uow, bill_id, amount_fen=amount_fen, out_payment_no=out_payment_no,
                        channel="partner", partner_id=partner.id, now=now))


def pay_demo(uow: UnitOfWork, resident: Resident, bill_id: uuid.UUID, *, amount_fen: int,
             now: datetime) -> dict[str, Any]:
    """Development only: the resident pays their own bill through the built-in demo channel."""
    answer = apply_payment(uow, bill_id, amount_fen=amount_fen,
                           out_payment_no=f"demo-{uuid.uuid4().hex}", channel="demo",
                           partner_id=None, now=now, resident_id=resident.id)
    uow.commit()
    return answer
