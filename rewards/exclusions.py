"""Exclusions: facts that bar a resident from a scenario whatever their score (DESIGN §5.5).

`pc_credit_authorize` (migration 0012) checks the same two conditions in SQL; a change here
needs a migration that changes it there too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session

from core.records import Record
from rewards.credit.models import CreditBill

# Each exclusion as an EXISTS over bound `:resident` and `:now`, all answered by one statement.
_CONDITIONS = {
    # An active 失信被执行人 record still within its publicity period.
    "dishonest_debtor": exists().where(
        Record.resident_id == bindparam("resident"),
        Record.category == "judicial",
        Record.type == "dishonest_debtor",
        Record.status == "active",
        or_(Record.publicity_ends_at.is_(None), Record.publicity_ends_at > bindparam("now")),
    ),
    # An unpaid 先诊后付 bill past its due date (whether or not the overdue job has run yet:
    # paying it in full lifts the exclusion at once).
    "overdue_bill": exists().where(
        CreditBill.resident_id == bindparam("resident"),
        CreditBill.status.in_(("open", "overdue")),
        CreditBill.due_at <= bindparam("now"),
    ),
}
CODES = tuple(_CONDITIONS)
_ALL = select(*(condition.label(code) for code, condition in _CONDITIONS.items()))


def active_exclusions(session: Session, resident_id: uuid.UUID, now: datetime,
                      codes: set[str] | None = None) -> set[str]:
    """Which of `codes` (default: all) currently apply to the resident (one round trip)."""
    wanted = CODES if codes is None else [c for c in CODES if c in codes]
    if not wanted:
        return set()
    row = session.execute(_ALL, {"resident": resident_id, "now": now}).one()
    return {code for code in wanted if row._mapping[code]}
