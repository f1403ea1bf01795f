"""Expiry: points expire a configured time after they were earned, oldest first.

Each earning is a lot with an `expires_at`. Spending draws from the lots that expire first, so
what is left is always the newest. When a lot's time comes, what remains of it moves to the
`expiry` account in a transfer keyed `expire:<lot>` (once per lot). The periodic job
`points.expire` does this for everyone; a redemption does it first for its resident, so a
resident can never spend points that have already expired, even between job runs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rewards.points import ledger
from rewards.points.errors import InsufficientPoints
from rewards.points.models import LOTS, Lot


def open_lots(session: Session, account_id: uuid.UUID) -> list[Any]:
    """The account's lots with points left, the soonest to expire first (spending order)."""
    lots = LOTS
    return list(session.connection().execute(
        select(lots.c.id, lots.c.remaining, lots.c.expires_at)
        .where(lots.c.account_id == account_id, lots.c.remaining > 0)
        .order_by(lots.c.expires_at, lots.c.earned_at, lots.c.id)))


def due_lots(session: Session, account_id: uuid.UUID, now: datetime) -> list[Any]:
    return list(session.execute(
        select(Lot.id, Lot.remaining).where(Lot.account_id == account_id, Lot.expires_at <= now,
                                            Lot.remaining > 0)
        .order_by(Lot.expires_at, Lot.id)))


def due_total(session: Session, account_id: uuid.UUID, now: datetime) -> int:
    """Points past their expiry that the job has not moved yet (not spendable)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(Lot.remaining), 0))
        .where(Lot.account_id == account_id, Lot.expires_at <= now, Lot.remaining > 0)) or 0)


def expire_locked(session: Session, account_id: uuid.UUID, now: datetime, *,
                  lots: list[Any] | None = None) -> int:
    """Expire the account's due lots (`lots` if the caller has read them); the caller holds the
    account's row lock. Returns the points expired. Raises `InsufficientPoints` if the caller
    already took more than the unexpired points (its transaction must then roll back)."""
    lots = due_lots(session, account_id, now) if lots is None else lots
    if not lots:
        return 0
    total = sum(int(lot.remaining) for lot in lots)
    if not ledger.debit(session, account_id, total):
        raise InsufficientPoints("the resident does not have enough unexpired points",
                                 detail_zh="可用积分不足")
    sink = ledger.system_account(session, "expiry", now)
    for lot in lots:
        session.execute(update(Lot).where(Lot.id == lot.id)
                        .values(remaining=0, expired=Lot.expired + lot.remaining)
                        .execution_options(synchronize_session=False))
        ledger.post(session, key=f"expire:{lot.id.hex}", kind="expire", now=now,
                    legs=[(account_id, -int(lot.remaining)), (sink, int(lot.remaining))],
                    reference=lot.id.hex)
    return total


def expire_account(session: Session, account_id: uuid.UUID, now: datetime) -> int:
    """Expire one resident's due lots (the job's unit of work)."""
    ledger.lock(session, account_id)
    return expire_locked(session, account_id, now)


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
