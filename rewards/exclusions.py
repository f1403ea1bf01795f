"""Exclusions: facts that bar a resident from a scenario whatever their score (DESIGN §5.5).

The rule is written once, as the SQL function `pc_exclusions(resident, now)` (migration 0017):
the 先诊后付 authorization checks it inside its own statement, and this module reads it for
every other path (token issue, entitlements, the resident's own view). Codes:
`dishonest_debtor` (an active 失信被执行人 record within its publicity period) and
`overdue_bill` (an unpaid 先诊后付 bill past its due date). A new exclusion is a migration
that redefines the function and a code added here.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

CODES = ("dishonest_debtor", "overdue_bill")


def active_exclusions(session: Session, resident_id: uuid.UUID, now: datetime,
                      codes: set[str] | None = None) -> set[str]:
    """Which of `codes` (default: all) currently apply to the resident (one round trip)."""
    wanted = set(CODES) if codes is None else set(CODES) & codes
    if not wanted:
        return set()
    found = session.execute(select(func.pc_exclusions(resident_id, now))).scalar_one()
    return wanted & set(found or ())
