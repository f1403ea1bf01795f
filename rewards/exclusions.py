"""Exclusions: facts that bar a resident from a scenario whatever their score (DESIGN §5.5).

Which exclusions apply is decided once, by the SQL function `pc_exclusions(resident, now)`
(`rewards/sql/exclusions.sql`): the 先诊后付 authorization checks it inside its own statement,
and `active_exclusions` reads it for every other path (token issue, entitlements, the
resident's own view). `EXCLUSIONS` names each code the function can answer and says it to the
resident; it is the one Python list of codes (`scenarios` validates a scenario's `exclusions`
against it, `eligibility` takes the texts from it), and a unit test checks that it names exactly
the codes the SQL file can return. A new exclusion: a clause in the SQL file and its texts here.

    active_exclusions(session, resident_id, now, {"overdue_bill"})  # -> {"overdue_bill"} or set()
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

# code -> (zh, en): what the resident is told when the exclusion bars them.
EXCLUSIONS: dict[str, tuple[str, str]] = {
    "dishonest_debtor": ("存在有效的失信被执行人记录", "An active dishonest-debtor record"),
    "overdue_bill": ("存在逾期未付的账单", "An unpaid overdue bill"),
}
CODES = tuple(EXCLUSIONS)


def active_exclusions(session: Session, resident_id: uuid.UUID, now: datetime,
                      codes: set[str] | None = None) -> set[str]:
    """Which of `codes` (default: all) currently apply to the resident (one round trip)."""
    wanted = set(CODES) if codes is None else set(CODES) & codes
    if not wanted:
        return set()
    found = session.execute(select(func.pc_exclusions(resident_id, now))).scalar_one()
    return wanted & set(found or ())
