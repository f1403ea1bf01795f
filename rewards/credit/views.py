"""What is shown of 先诊后付: the resident's own view (line, held, owed, available, holds, bills,
history), and the list of a hospital's own holds its counter works from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Partner, Resident
from core.staff import PartnerStaff
from rewards import scenarios
from rewards.credit import account
from rewards.credit.models import CreditBill, CreditHold, CreditPayment
from rewards.credit.terms import SCENARIO, Terms
from rewards.eligibility import decide
from rewards.exclusions import active_exclusions
from rewards.models import PartnerPseudonym

HISTORY = 50


def _partners(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, str]]:
    if not ids:
        return {}
    rows = session.execute(select(Partner.id, Partner.client_id, Partner.name)
                           .where(Partner.id.in_(ids)))
    return {r.id: {"client_id": r.client_id, "name": r.name} for r in rows}


def _hold(hold: CreditHold, partners: dict, now: datetime) -> dict[str, Any]:
    status = "expired" if hold.status == "held" and hold.expires_at <= now else hold.status
    return {"kind": "hold", "authorization_id": str(hold.id),
            "hospital": partners.get(hold.partner_id), "amount_fen": hold.amount_fen,
            "status": status, "created_at": iso(hold.created_at),
            "expires_at": iso(hold.expires_at), "closed_at": iso(hold.closed_at)}


def _bill(bill: CreditBill, partners: dict, payments: list[CreditPayment],
          now: datetime) -> dict[str, Any]:
    return {"kind": "bill", "bill_id": str(bill.id), "authorization_id": str(bill.hold_id),
            "hospital": partners.get(bill.partner_id), "amount_fen": bill.amount_fen,
            "paid_fen": bill.paid_fen, "owed_fen": bill.owed_fen,
            "status": "overdue" if bill.status == "open" and bill.due_at <= now else bill.status,
            "created_at": iso(bill.created_at), "due_at": iso(bill.due_at),
            "overdue_at": iso(bill.overdue_at), "paid_at": iso(bill.paid_at),
            "reported": bill.record_id is not None and bill.overdue_at is not None,
            "payments": [{"payment_id": str(p.id), "amount_fen": p.amount_fen,
                          "channel": p.channel, "created_at": iso(p.created_at)}
                         for p in payments]}


def summary(uow: UnitOfWork, resident: Resident, *, now: datetime,
            terms: Terms) -> dict[str, Any]:
    """What the resident may use now and everything they owe (their eyes only)."""
    from rewards.entitlements import standing

    session = uow.session
    scenario = scenarios.get(session, SCENARIO)
    score, tier = standing(uow, resident, now)
    excluded = (active_exclusions(session, resident.id, now, set(scenario.exclusions))
                if score is not None else set())
    decision = decide(scenario, score=score, tier=tier, exclusions=excluded)
    line = int(scenario.limits.get(tier or "", {}).get("limit_fen", 0))
    _stored_line, _held, owed = account.balances(session, resident.id)
    holds = list(session.scalars(select(CreditHold).where(
        CreditHold.resident_id == resident.id).order_by(CreditHold.created_at.desc())
        .limit(HISTORY)))
    live = [h for h in holds if h.status == "held" and h.expires_at > now]
    held = sum(h.amount_fen for h in live)
    mine = select(CreditBill).where(CreditBill.resident_id == resident.id)
    unpaid = list(session.scalars(mine.where(CreditBill.status != "paid")
                                  .order_by(CreditBill.due_at)))
    paid = list(session.scalars(mine.where(CreditBill.status == "paid")
                                .order_by(CreditBill.paid_at.desc()).limit(HISTORY)))
    bills = unpaid + paid
    payments: dict[uuid.UUID, list[CreditPayment]] = {}
    if bills:
        for p in session.scalars(select(CreditPayment).where(
                CreditPayment.bill_id.in_([b.id for b in bills]))
                .order_by(CreditPayment.created_at)):
            payments.setdefault(p.bill_id, []).append(p)
    partners = _partners(session, {h.partner_id for h in holds} | {b.partner_id for b in bills})
    history = [_hold(h, partners, now) for h in holds if h not in live and
               h.status != "captured"] + [_bill(b, partners, payments.get(b.id, []), now)
                                          for b in paid]
    history.sort(key=lambda item: item.get("closed_at") or item.get("paid_at") or "",
                 reverse=True)
    return {
        "eligible": decision.eligible,
        "reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in decision.reasons],
        "line_fen": line, "held_fen": held, "owed_fen": owed,
        "available_fen": max(0, line - held - owed) if decision.eligible else 0,
        "holds": [_hold(h, partners, now) for h in live],
        "bills": [_bill(b, partners, payments.get(b.id, []), now) for b in unpaid],
        "history": history,
        "terms": {"hold_hours": terms.hold_hours, "due_days": terms.due_days,
                  "remind_days": terms.remind_days, "grace_days": terms.grace_days},
    }


def counter_holds(session: Session, partner: Partner, *, since: datetime, now: datetime,
                  limit: int = 200) -> list[dict[str, Any]]:
    """The hospital's own holds placed since `since`, newest first, as its counter lists them:
    the resident's pseudonym at this hospital (`sub`), the hospital's own reference
    (`out_request_no`), who placed it (the staff username; None: the API key) and, once
    captured, the bill. Nothing the hospital was not told when it made them."""
    rows = session.execute(
        select(CreditHold, PartnerPseudonym.pseudonym, PartnerStaff.username,
               CreditBill.id.label("bill_id"), CreditBill.out_bill_no,
               CreditBill.amount_fen.label("bill_fen"), CreditBill.due_at)
        .join(PartnerPseudonym, (PartnerPseudonym.partner_id == CreditHold.partner_id)
              & (PartnerPseudonym.resident_id == CreditHold.resident_id), isouter=True)
        .join(PartnerStaff, PartnerStaff.id == CreditHold.staff_id, isouter=True)
        .join(CreditBill, CreditBill.hold_id == CreditHold.id, isouter=True)
        .where(CreditHold.partner_id == partner.id, CreditHold.created_at >= since)
        .order_by(CreditHold.created_at.desc(), CreditHold.id).limit(limit))
    return [{
        "authorization_id": str(r.CreditHold.id), "sub": r.pseudonym,
        "out_request_no": r.CreditHold.out_request_no, "amount_fen": r.CreditHold.amount_fen,
        "status": ("expired" if r.CreditHold.status == "held" and r.CreditHold.expires_at <= now
                   else r.CreditHold.status),
        "created_at": iso(r.CreditHold.created_at), "expires_at": iso(r.CreditHold.expires_at),
        "closed_at": iso(r.CreditHold.closed_at), "placed_by": r.username,
        "bill": None if r.bill_id is None else {
            "bill_id": str(r.bill_id), "out_bill_no": r.out_bill_no, "amount_fen": r.bill_fen,
            "due_at": iso(r.due_at)},
    } for r in rows]
