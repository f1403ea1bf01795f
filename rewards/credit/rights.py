"""What residents' rights (export, erasure) need from 先诊后付: the resident's data, and what
must outlive an erasure request and why."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.idempotency import iso
from core.identity import Partner
from rewards.credit.models import CreditAccount, CreditBill, CreditHold, CreditPayment

DISPUTE_PERIOD = timedelta(days=3 * 365)  # Civil Code art. 188: the general limitation period


def _partners(session: Session, ids: set[Any]) -> dict[Any, dict[str, str]]:
    ids.discard(None)
    if not ids:
        return {}
    return {p.id: {"client_id": p.client_id, "name": p.name}
            for p in session.scalars(select(Partner).where(Partner.id.in_(ids)))}


def export_section(session: Session, resident_id: uuid.UUID) -> dict[str, Any]:
    """Everything held about the resident in the credit tables, JSON-ready."""
    acct = session.get(CreditAccount, resident_id)
    holds = list(session.scalars(select(CreditHold).where(CreditHold.resident_id == resident_id)
                                 .order_by(CreditHold.created_at)))
    bills = list(session.scalars(select(CreditBill).where(CreditBill.resident_id == resident_id)
                                 .order_by(CreditBill.created_at)))
    payments = list(session.scalars(
        select(CreditPayment).where(CreditPayment.bill_id.in_([b.id for b in bills]))
        .order_by(CreditPayment.created_at))) if bills else []
    who = _partners(session, {h.partner_id for h in holds} | {b.partner_id for b in bills}
                    | {p.partner_id for p in payments})
    return {
        "account": None if acct is None else {
            "line_fen": acct.line_fen, "held_fen": acct.held_fen, "owed_fen": acct.owed_fen,
            "created_at": iso(acct.created_at), "updated_at": iso(acct.updated_at)},
        "holds": [{"authorization_id": str(h.id), "hospital": who.get(h.partner_id),
                   "out_request_no": h.out_request_no, "amount_fen": h.amount_fen,
                   "line_fen": h.line_fen, "status": h.status, "created_at": iso(h.created_at),
                   "expires_at": iso(h.expires_at), "closed_at": iso(h.closed_at)}
                  for h in holds],
        "bills": [{"bill_id": str(b.id), "authorization_id": str(b.hold_id),
                   "hospital": who.get(b.partner_id), "out_bill_no": b.out_bill_no,
                   "amount_fen": b.amount_fen, "paid_fen": b.paid_fen, "status": b.status,
                   "created_at": iso(b.created_at), "due_at": iso(b.due_at),
                   "reminded_at": iso(b.reminded_at), "overdue_at": iso(b.overdue_at),
                   "paid_at": iso(b.paid_at),
                   "record_id": str(b.record_id) if b.record_id else None} for b in bills],
        "payments": [{"payment_id": str(p.id), "bill_id": str(p.bill_id),
                      "channel": p.channel, "payment_channel": who.get(p.partner_id),
                      "out_payment_no": p.out_payment_no, "amount_fen": p.amount_fen,
                      "created_at": iso(p.created_at)} for p in payments],
    }


def retention(session: Session, resident_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """What must be kept after an erasure request, until when and why."""
    out: list[dict[str, Any]] = []
    for h in session.scalars(select(CreditHold).where(CreditHold.resident_id == resident_id,
                                                      CreditHold.status == "held")):
        out.append({
            "what": f"medical_credit_hold:{h.id}", "until": iso(h.expires_at),
            "why_zh": "医院的先诊后付预授权尚未结束，到期或撤销前须保留",
            "why_en": "An open credit-care authorization at a hospital is kept until it is "
                      "captured, voided or expires"})
    for b in session.scalars(select(CreditBill).where(CreditBill.resident_id == resident_id)):
        if b.status != "paid":
            out.append({
                "what": f"medical_credit_bill:{b.id}", "until": None,
                "why_zh": ("账单尚未还清：还清前须保留，还清后再保留三年以备争议"
                           "（民法典第一百八十八条）"),
                "why_en": "An unpaid bill is kept until it is paid, then three years for "
                          "disputes (Civil Code art. 188)"})
        elif b.paid_at is not None and b.paid_at + DISPUTE_PERIOD > now:
            out.append({
                "what": f"medical_credit_bill:{b.id}", "until": iso(b.paid_at + DISPUTE_PERIOD),
                "why_zh": "已还清的账单及还款记录保留三年以备争议（民法典第一百八十八条）",
                "why_en": "A paid bill and its payments are kept three years after payment for "
                          "disputes (Civil Code art. 188)"})
    return out
