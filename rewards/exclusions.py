"""Exclusions: facts that bar a resident from a scenario whatever their score (DESIGN §5.5).

`pc_credit_authorize` (migration 0012) checks the same two conditions in SQL; a change here
needs a migration that changes it there too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from core.records import Record
from rewards.credit.models import CreditBill


def dishonest_debtor(session: Session, resident_id: uuid.UUID, now: datetime) -> bool:
    """An active 失信被执行人 record still within its publicity period."""
    return bool(session.scalar(select(exists().where(
        Record.resident_id == resident_id,
        Record.category == "judicial",
        Record.type == "dishonest_debtor",
        Record.status == "active",
        or_(Record.publicity_ends_at.is_(None), Record.publicity_ends_at > now),
    ))))


def overdue_bill(session: Session, resident_id: uuid.UUID, now: datetime) -> bool:
    """An unpaid 先诊后付 bill past its due date (whether or not the overdue job has run yet:
    paying it in full lifts the exclusion at once)."""
    return bool(session.scalar(select(exists().where(
        CreditBill.resident_id == resident_id,
        CreditBill.status.in_(("open", "overdue")),
        CreditBill.due_at <= now,
    ))))


CHECKS = {"dishonest_debtor": dishonest_debtor, "overdue_bill": overdue_bill}


def active_exclusions(session: Session, resident_id: uuid.UUID, now: datetime,
                      codes: set[str] | None = None) -> set[str]:
    """Which of `codes` (default: all) currently apply to the resident."""
    return {code for code, check in CHECKS.items()
            if (codes is None or code in codes) and check(session, resident_id, now)}
