"""先诊后付's periodic jobs (`pengcheng jobs run`): hold expiry, reminders, overdue, reporting.

Each step takes a batch with `FOR UPDATE SKIP LOCKED` and changes rows only through conditions
on their current state, in small transactions: two runners never do a step twice, and a second
run finds nothing left to do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core import notifications, recordops
from core.idempotency import iso
from core.jobs import JobContext, job
from rewards.credit import terms as credit_terms
from rewards.credit.models import CreditBill
from rewards.credit.services import expire_holds, yuan
from rewards.credit.terms import Terms

BATCH = 500


def terms_of(ctx: JobContext) -> Terms:
    return credit_terms.from_config(ctx.settings)


def in_batches(ctx: JobContext, step: Any) -> int:
    """Run `step(session) -> count` (a helper: it never commits) in one unit of work per
    batch, each committed, until a batch comes back short."""
    total = 0
    while True:
        with ctx.uow() as uow:
            count = step(uow.session)
            uow.commit()
        total += count
        if count < BATCH:
            return total


@job("medical_credit.expire_holds")
def expire(ctx: JobContext) -> dict[str, int]:
    """Release authorizations that were not captured in time."""
    return {"expired": in_batches(ctx, lambda session: expire_holds(session, ctx.now,
                                                                  limit=BATCH))}


def _locked(session: Any, *where: Any) -> list[CreditBill]:
    return list(session.scalars(select(CreditBill).where(*where).order_by(CreditBill.due_at)
                                .limit(BATCH).with_for_update(skip_locked=True)))


def remind(session: Any, now: datetime, terms: Terms) -> int:
    bills = _locked(session, CreditBill.status == "open", CreditBill.reminded_at.is_(None),
                    CreditBill.due_at > now, CreditBill.due_at <= now + terms.remind)
    for bill in bills:
        day = bill.due_at.date().isoformat()
        notifications.notify(
            session, resident_id=bill.resident_id, kind="medical_credit_reminder",
            dedupe_key=f"credit-bill-reminder:{bill.id}", now=now,
            title=("先诊后付账单即将到期", "A credit care bill is due soon"),
            body=(f"尚欠 {yuan(bill.owed_fen)} 元，请于 {day} 前还款，以免影响先诊后付资格。",
                  f"¥{yuan(bill.owed_fen)} is due by {day}; pay on time to keep credit care."),
            data={"bill_id": str(bill.id), "owed_fen": bill.owed_fen, "due_at": iso(bill.due_at)})
        bill.reminded_at = now
    return len(bills)


def mark_overdue(session: Any, now: datetime, terms: Terms) -> int:
    bills = _locked(session, CreditBill.status == "open", CreditBill.due_at <= now)
    for bill in bills:
        bill.status, bill.overdue_at = "overdue", now
        report_day = (bill.due_at + terms.grace).date().isoformat()
        notifications.notify(
            session, resident_id=bill.resident_id, kind="medical_credit_overdue",
            dedupe_key=f"credit-bill-overdue:{bill.id}", now=now,
            title=("先诊后付账单已逾期", "A credit care bill is overdue"),
            body=(f"尚欠 {yuan(bill.owed_fen)} 元已逾期，先诊后付暂停使用；"
                  f"{report_day} 前还清可避免形成逾期记录。",
                  f"¥{yuan(bill.owed_fen)} is overdue and credit care is suspended; pay by "
                  f"{report_day} to avoid an overdue record."),
            data={"bill_id": str(bill.id), "owed_fen": bill.owed_fen,
                  "report_at": iso(bill.due_at + terms.grace)})
    return len(bills)


def report(session: Any, now: datetime, terms: Terms) -> int:
    bills = _locked(session, CreditBill.status == "overdue", CreditBill.record_id.is_(None),
                    CreditBill.due_at <= now - terms.grace)
    for bill in bills:
        record = recordops.write_internal(
            session, resident_id=bill.resident_id, category="scenario_performance",
            type="medical_credit_overdue",
            source_record_id=f"medical_credit_bill:{bill.id}:overdue",
            occurred_at=bill.due_at, now=now, amount_fen=bill.owed_fen)
        bill.record_id = record.id
        notifications.notify(
            session, resident_id=bill.resident_id, kind="medical_credit_reported",
            dedupe_key=f"credit-bill-reported:{bill.id}", now=now,
            title=("已形成先诊后付逾期记录", "An overdue record was written"),
            body=("账单逾期超过宽限期，已形成逾期记录；还清后该记录将标记为已修复。",
                  "The bill stayed unpaid past the grace period and is now an overdue record; "
                  "paying it marks the record repaired."),
            data={"bill_id": str(bill.id), "record_id": str(record.id)})
    return len(bills)


def credit_repaid(session: Any, now: datetime, terms: Terms) -> int:
    bills = _locked(session, CreditBill.status == "paid", CreditBill.record_id.is_(None),
                    CreditBill.overdue_at.is_(None), CreditBill.paid_at <= CreditBill.due_at)
    for bill in bills:
        record = recordops.write_internal(
            session, resident_id=bill.resident_id, category="scenario_performance",
            type="medical_credit_repaid",
            source_record_id=f"medical_credit_bill:{bill.id}:repaid",
            occurred_at=bill.paid_at or now, now=now, amount_fen=bill.amount_fen)
        bill.record_id = record.id
    return len(bills)


@job("medical_credit.bills")
def bills(ctx: JobContext) -> dict[str, int]:
    """Remind before the due date, mark overdue (suspends credit care), report after grace;
    credit bills repaid on time."""
    terms = terms_of(ctx)
    return {name: in_batches(ctx, lambda session, step=step: step(session, ctx.now, terms))
            for name, step in (("reminded", remind), ("overdue", mark_overdue),
                               ("reported", report), ("repaid", credit_repaid))}
