"""The access log (查询记录): every partner verification of a resident and every operator read of
their data, visible to that resident.

An entry says who (partner, operator, or the public verifying a report: client id and name),
when, what they did (one of `ACTIONS`), for which scenario, the outcome and exactly what they
learned (the `ent` and `sub` they saw, or nothing). It holds no score, tier or personal field.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rewards.models import AccessEntry

MAX_PAGE = 200
# What an entry may say was done; the resident's page names each one (`action.<code>` in
# app/static/h5/i18n.json). The database functions write `introspect`, `consume`, `credit_hold`.
ACTIONS = frozenset({
    "introspect", "consume", "credit_hold",  # partners
    "report_verify",  # anyone holding a report's code
    "dispute_read", "dispute_resolved", "repair_read", "repair_decided",  # operators
    "review_read", "review_decided", "consent_history_read",
})


def record_access(session: Session, *, resident_id: uuid.UUID, actor_kind: str, actor_id: str,
                  actor_name: str, action: str, outcome: str, now: datetime,
                  scenario: str | None = None, learned: dict[str, Any] | None = None
                  ) -> uuid.UUID:
    """Add one entry in the caller's transaction (a plain INSERT, no ORM flush); its id.

    Partners' introspections and token consumptions are logged by the database functions that
    decide them (`pc_log_access`, rewards/sql/access.sql; see `rewards.tokens`), not through here.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown access-log action {action!r}: add it to ACTIONS")
    entry_id = uuid.uuid4()
    row = {"id": entry_id, "resident_id": resident_id, "at": now, "actor_kind": actor_kind,
           "actor_id": actor_id, "actor_name": actor_name, "action": action,
           "scenario": scenario, "outcome": outcome, "learned": learned or {}}
    session.execute(insert(AccessEntry), [row])
    return entry_id


def entries(session: Session, resident_id: uuid.UUID, *, limit: int = 50,
            before: datetime | None = None) -> list[AccessEntry]:
    """The resident's entries, newest first (at most `MAX_PAGE`)."""
    stmt = select(AccessEntry).where(AccessEntry.resident_id == resident_id)
    if before is not None:
        stmt = stmt.where(AccessEntry.at < before)
    stmt = stmt.order_by(AccessEntry.at.desc(), AccessEntry.id).limit(min(limit, MAX_PAGE))
    return list(session.scalars(stmt))
