"""Exclusions: facts that bar a resident from a scenario whatever their score (DESIGN §5.5)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from core.records import Record


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
    """An unpaid overdue 先诊后付 bill. Hook: bills arrive with the medical-credit issue."""
    return False


CHECKS = {"dishonest_debtor": dishonest_debtor, "overdue_bill": overdue_bill}


def active_exclusions(session: Session, resident_id: uuid.UUID, now: datetime,
                      codes: set[str] | None = None) -> set[str]:
    """Which of `codes` (default: all) currently apply to the resident."""
    return {code for code, check in CHECKS.items()
            if (codes is None or code in codes) and check(session, resident_id, now)}
