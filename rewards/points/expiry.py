"""Expiry: points expire a configured time after they were earned, oldest first.

Each earning is a lot with an `expires_at`. Spending draws from the lots that expire first, so
what is left is always the newest. When a lot's time comes, what remains of it moves to the
`expiry` account in a transfer keyed `expire:<lot>` (once per lot). The periodic job
`points.expire` does this for everyone; a redemption does it first for its resident, so a
resident can never spend points that have already expired, even between job runs.

Expiry is written once, in SQL, because the redemption (`pc_redeem`, a PostgreSQL function)
needs it: `pc_points_expire` (rewards/points/sql/expiry.sql) is what both the job and a
redemption run, and `pc_points_due` is what a resident's points statement subtracts from the
balance.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rewards.points.models import Lot


def due_total(session: Session, account_id: uuid.UUID, now: datetime) -> int:
    """Points past their expiry that the job has not moved yet (not spendable)."""
    return int(session.scalar(select(func.pc_points_due(account_id, now))) or 0)


def expire_account(session: Session, account_id: uuid.UUID, now: datetime) -> int:
    """Expire one resident's due lots (the job's unit of work); the points expired. The same
    function a redemption runs first (`pc_points_expire`, rewards/points/sql/expiry.sql)."""
    return int(session.scalar(select(func.pc_points_expire(account_id, now))) or 0)


def accounts_due(session: Session, now: datetime, limit: int) -> list[uuid.UUID]:
    return list(session.scalars(
        select(Lot.account_id).where(Lot.expires_at <= now, Lot.remaining > 0)
        .group_by(Lot.account_id).limit(limit)))


def expiring(session: Session, account_id: uuid.UUID, now: datetime, within: timedelta
             ) -> list[dict[str, Any]]:
    """What expires within `within`, soonest first: `[{points, expires_at}]` per expiry time."""
    rows = session.execute(
        select(Lot.expires_at, func.sum(Lot.remaining))
        .where(Lot.account_id == account_id, Lot.remaining > 0, Lot.expires_at > now,
               Lot.expires_at <= now + within)
        .group_by(Lot.expires_at).order_by(Lot.expires_at))
    return [{"points": int(total), "expires_at": at} for at, total in rows]
