"""先诊后付 use cases: authorize (hold), capture (bill), void, pay; hold expiry.

Design overview
---------------
* **The line.** A hold is taken against the resident's line when their token was issued (at
  most five minutes earlier, after deciding their tier and eligibility: the score is not
  recomputed at the counter). It is kept with the token (`issued_tokens.limits`) and never told
  to the hospital (issue 20): a hold that does not fit — above the line, or above what the
  resident's other holds and bills leave — is `limit_exceeded`, the same answer whatever the
  tier, with no amount in it. Exclusions (an overdue bill, a dishonest-debtor record) are
  re-checked at authorization, so a bill that fell overdue after the token was shown still
  suspends credit care.
* **Who did it.** A hold, capture or void made by a counter staff member (`core.staff`) names
  them (`staff_id`, `voided_by`); the resident's access log names the hospital.
* **Money never overspent.** All amounts move by conditional UPDATEs on the resident's account
  row under CHECK constraints (`rewards.credit.models`); holds, bills and payments are rows with
  status CHECKs and `(partner, out_*_no)` unique keys.
* **Idempotent partner writes.** `authorize`, `capture` and `pay` give the first answer to a
  retry with the same `out_request_no`, `out_bill_no`, `out_payment_no` and body (another body:
  `409 idempotency_conflict`); `void` is idempotent by its state. A refusal writes nothing, not
  even the token's consumption. All three are `core.idempotency.idempotent` writes: `pay`'s
  wrapper owns its unit of work; `authorize` and `capture` are `in_sql` (the function claims
  with the wrapper's `Claim` and answers a replay itself). The functions' answers are the
  source: `Authorization` (what `void` answers) has their fields, and a test holds them to it.
* **Authorization and capture are PostgreSQL functions** (`pc_credit_authorize`,
  `pc_credit_capture`, `pc_credit_expire_holds`; rewards/credit/sql/credit.sql), one call each on an
  autocommit unit of work (`core.pgcall`): the idempotency claim, the token's consumption, the
  exclusions, the reserve (opening the resident's first account and releasing their holds past
  their expiry when it does not fit), the hold or bill, the access-log entry or notification and
  the stored answer are one implicit transaction. Why there: they are the counter's hot path
  (one round trip keeps their throughput), and the overspending guarantee is a conditional
  UPDATE that must see a concurrent counter's committed hold, which the database decides best.
  Python does what needs Python: the token's signature (`tokens.admit`), the line when the
  token has none (the score is computed in Python), the ids, times and texts. A token `admit`
  refuses still goes to the function, without the token: a retry is owed its stored answer,
  and otherwise the function refuses and the token's own refusal is raised. The function's
  refusals are the builders of `rewards.credit.errors`, `rewards.tokens.REFUSALS` and
  `core.idempotency.REFUSALS`, so each message is written once.
* `void` and `pay` are Python (SQLAlchemy) in one unit of work: partners call them rarely.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Integer, Table, Uuid, case, func, literal, null, select, text, update
from sqlalchemy.orm import Session

from core import idempotency, notifications, pgcall, recordops
from core.db import NewUnitOfWork, UnitOfWork
from core.idempotency import Claim, idempotent, iso
from core.identity import Partner, Resident
from core.records import Record
from rewards import scenarios, tokens
from rewards.credit import account, errors, notices
from rewards.credit.errors import yuan
from rewards.credit.models import CreditBill, CreditHold, CreditPayment
from rewards.credit.terms import SCENARIO, Terms
from rewards.errors import LimitExceeded, TokenRejected, UnknownScenario
from rewards.token_format import TokenContext

MAX_FEN = 10**11  # ¥1 billion: far above any line; keeps amounts sane

Answer = dict[str, Any]


def _amount(value: Any, field: str = "amount_fen") -> int:
    if type(value) is not int or not 0 < value <= MAX_FEN:
        raise errors.InvalidAmount(f"{field} must be a positive integer number of fen",
                                   detail_zh="金额须为正整数（单位：分）")
    return value


# What the functions' refusals mean (core/sql/idempotency.sql, rewards/credit/sql/credit.sql).
REFUSALS: dict[str, pgcall.Refusal] = {
    **tokens.REFUSALS,
    **idempotency.REFUSALS,
    # as `scenarios.get` refuses a scenario switched off
    "unknown_scenario": lambda f: UnknownScenario(f"no active scenario {f['code']!r}",
                                                  detail_zh="没有该场景"),
    "credit_declined": lambda f: errors.credit_declined(),
    "limit_exceeded": lambda f: LimitExceeded(),
    "authorization_not_found": lambda f: errors.authorization_not_found(),
    "authorization_closed": lambda f: errors.authorization_closed(
        f["authorization_status"], lapsed=bool(f.get("lapsed"))),
    "amount_exceeds_hold": lambda f: errors.amount_exceeds_hold(f["amount_fen"], f["hold_fen"]),
}


@lru_cache(maxsize=1)
def _default_scenario() -> str:
    """The shipped definition of the scenario, for a database without an operator's change."""
    return json.dumps(scenarios.defaults()[SCENARIO].as_dict())


# -- authorize ----------------------------------------------------------------------------------

_AUTHORIZE = text(
    f"SELECT pc_credit_authorize({tokens.CONSUME_ARGS}, :out_request_no, :hash, :amount_fen,"
    " CAST(:default_scenario AS json), :hold_id, :expires_at, :created_iso,"
    " :expires_iso, :hold_log_id, :staff_id)")


@dataclass(frozen=True)
class Authorization:
    """A hold as partners see it. `pc_credit_authorize` answers the same fields, with `sub`
    after them (tests/api/test_medical_credit_answers.py holds the two to one shape); `void`
    answers this."""

    authorization_id: uuid.UUID
    out_request_no: str
    amount_fen: int
    status: str
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, hold: CreditHold) -> Authorization:
        return cls(hold.id, hold.out_request_no, hold.amount_fen, hold.status,
                   hold.created_at, hold.expires_at, hold.closed_at)


def _no_token(partner: Partner, now: datetime) -> dict[str, Any]:
    """`tokens.db_args` for a token `admit` refused: only the partner and the clock."""
    return {"jti": None, "sub": None, "scn": SCENARIO, "iat": None, "exp": None, "ent": None,
            "partner_id": partner.id, "client_id": partner.client_id,
            "partner_name": partner.name, "log_id": None, "now": now}


def authorize(new_uow: NewUnitOfWork, token: Any, *, partner: Partner, amount_fen: int,
              out_request_no: str, now: datetime, terms: Terms, ctx: TokenContext,
              staff_id: uuid.UUID | None = None) -> Answer:
    """Hold `amount_fen` of the resident's line for `partner` (a hospital), placed by
    `staff_id` (None: the partner's API key); idempotent by `out_request_no`. Consumes the
    token. One call of `pc_credit_authorize`."""
    _amount(amount_fen)
    return _authorize(new_uow, token, partner=partner, amount_fen=amount_fen,
                      out_request_no=out_request_no, now=now, terms=terms, ctx=ctx,
                      staff_id=staff_id)


@idempotent("medical_credit.authorize", key="out_request_no", in_sql=True,
            body=lambda a: {"token": a["token"], "amount_fen": a["amount_fen"]})
def _authorize(uow: UnitOfWork, claim: Claim, token: Any, *, partner: Partner, amount_fen: int,
               out_request_no: str, now: datetime, terms: Terms, ctx: TokenContext,
               staff_id: uuid.UUID | None) -> Answer:
    """`authorize` on the autocommit unit of work the wrapper opened."""
    refusals = REFUSALS
    try:
        claims = tokens.admit(uow, token, partner=partner, scenario=SCENARIO, now=now, ctx=ctx)
    except TokenRejected as refused:
        # No hold without the token, but a retry is owed its stored answer: the function
        # gives it, or refuses `token_refused` and the token's own refusal is raised.
        refusal: TokenRejected = refused
        token_args = _no_token(partner, now)
        refusals = {**REFUSALS, "token_refused": lambda _fields: refusal}
    else:
        token_args = tokens.db_args(claims, partner, now)
    expires_at = now + terms.hold_ttl
    answer: Answer = pgcall.call(uow, _AUTHORIZE, {
        **token_args, "out_request_no": claim.key, "hash": claim.digest,
        "amount_fen": amount_fen, "default_scenario": _default_scenario(),
        "hold_id": uuid.uuid4(), "expires_at": expires_at, "created_iso": iso(now),
        "expires_iso": iso(expires_at), "hold_log_id": uuid.uuid4(), "staff_id": staff_id},
        refusals)
    return answer


# -- capture and void ---------------------------------------------------------------------------

_CAPTURE = text(
    "SELECT pc_credit_capture(:partner_id, :out_bill_no, :hash, :hold_id, :amount_fen,"
    " :bill_id, :now, :due_at, :created_iso, :due_iso, :note_id, :note_kind, :note_key,"
    " :note_title_zh, :note_title_en, :note_body_zh, :note_body_en, CAST(:note_data AS json),"
    " :staff_id)")


@idempotent("medical_credit.capture", key="out_bill_no", in_sql=True,
            body=lambda a: {"authorization_id": str(a["authorization_id"]),
                            "amount_fen": a["amount_fen"]})
def capture(uow: UnitOfWork, claim: Claim, authorization_id: uuid.UUID, *, partner: Partner,
            amount_fen: int, out_bill_no: str, now: datetime, terms: Terms,
            staff_id: uuid.UUID | None = None) -> Answer:
    """Turn a hold into a bill of `amount_fen` (≤ the hold; the rest is released), due in
    `terms.due_days`, captured by `staff_id` (None: the API key); idempotent by
    `out_bill_no`. One call of `pc_credit_capture`."""
    _amount(amount_fen)
    bill_id, due_at = uuid.uuid4(), now + terms.due
    notice = notices.bill_posted(partner.name, bill_id, amount_fen, due_at)
    answer: Answer = pgcall.call(uow, _CAPTURE, {
        "partner_id": partner.id, "out_bill_no": claim.key, "hash": claim.digest,
        "hold_id": authorization_id, "amount_fen": amount_fen, "bill_id": bill_id, "now": now,
        "due_at": due_at, "created_iso": iso(now), "due_iso": iso(due_at),
        "note_id": uuid.uuid4(), "note_kind": notice.kind, "note_key": notice.dedupe_key,
        "note_title_zh": notice.title[0], "note_title_en": notice.title[1],
        "note_body_zh": notice.body[0], "note_body_en": notice.body[1],
        "note_data": json.dumps(notice.data), "staff_id": staff_id}, REFUSALS)
    return answer


def _own_hold(session: Session, authorization_id: uuid.UUID, partner: Partner) -> CreditHold:
    hold = session.get(CreditHold, authorization_id, with_for_update=True)
    if hold is None or hold.partner_id != partner.id:  # another's looks like none at all
        raise errors.authorization_not_found()
    return hold


def _close(session: Session, hold: CreditHold, status: str, now: datetime) -> None:
    hold.status, hold.closed_at = status, now
    session.flush()
    account.release(session, hold.resident_id, hold.amount_fen, now)


def void(uow: UnitOfWork, authorization_id: uuid.UUID, *, partner: Partner,
         now: datetime, staff_id: uuid.UUID | None = None) -> Authorization:
    """Release a hold (by `staff_id`; None: the API key). Voiding a voided or expired hold
    answers its state again; a captured one cannot be voided."""
    session = uow.session
    hold = _own_hold(session, authorization_id, partner)
    if hold.status == "captured":
        raise errors.AuthorizationClosed("a captured authorization cannot be voided",
                                         detail_zh="预授权已结算，不能撤销",
                                         authorization_status="captured")
    if hold.status == "held":
        if hold.expires_at > now:
            hold.voided_by = staff_id
        _close(session, hold, "expired" if hold.expires_at <= now else "voided", now)
    answer = Authorization.of(hold)
    uow.commit()
    return answer


def expire_holds(session: Session, now: datetime, *, limit: int = 500) -> int:
    """Release up to `limit` holds past their expiry, oldest first; how many. Rows another
    transaction has locked are skipped. `pc_credit_expire_holds`: the authorization releases
    a resident's own the same way when a hold does not fit."""
    released = session.scalar(select(func.pc_credit_expire_holds(
        now, null().cast(Uuid), literal(limit, Integer))))
    return int(released or 0)


# -- pay ----------------------------------------------------------------------------------------

BILLS = cast(Table, CreditBill.__table__)


@dataclass(frozen=True)
class Payment:
    """A payment and the state of its bill after it."""

    payment_id: uuid.UUID
    bill_id: uuid.UUID
    out_payment_no: str
    amount_fen: int
    paid_fen: int
    owed_fen: int
    bill_status: str
    due_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, payment: CreditPayment, bill: CreditBill) -> Payment:
        return cls(payment.id, bill.id, payment.out_payment_no, payment.amount_fen,
                   bill.paid_fen, bill.owed_fen, bill.status, bill.due_at, payment.created_at)


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
                  now: datetime, resident_id: uuid.UUID | None = None) -> Payment:
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
    return Payment.of(payment, bill)


@idempotent("medical_credit.payment", key="out_payment_no",
            body=lambda a: {"bill_id": str(a["bill_id"]), "amount_fen": a["amount_fen"]})
def pay(uow: UnitOfWork, bill_id: uuid.UUID, *, partner: Partner, amount_fen: int,
        out_payment_no: str, now: datetime) -> Payment:
    """A payment-channel partner's payment; idempotent by `out_payment_no`."""
    return apply_payment(uow, bill_id, amount_fen=amount_fen, out_payment_no=out_payment_no,
                         channel="partner", partner_id=partner.id, now=now)


def pay_demo(uow: UnitOfWork, resident: Resident, bill_id: uuid.UUID, *, amount_fen: int,
             now: datetime) -> Payment:
    """Development only: the resident pays their own bill through the built-in demo channel."""
    answer = apply_payment(uow, bill_id, amount_fen=amount_fen,
                           out_payment_no=f"demo-{uuid.uuid4().hex}", channel="demo",
                           partner_id=None, now=now, resident_id=resident.id)
    uow.commit()
    return answer
