"""The resident's credit account: every movement is one conditional UPDATE on its row.

Holds add to `held_fen` only while `held_fen + owed_fen` stays within the line, and capture
moves a hold into `owed_fen` (at most the hold): both inside `pc_credit_authorize` /
`pc_credit_capture` (`rewards.credit.services`). Release and repayment, here, only ever
subtract. The database CHECKs (`rewards.credit.models`) are the guarantee behind these WHERE
clauses.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from rewards.credit.models import CreditAccount

ACCOUNTS = cast(Table, CreditAccount.__table__)


class LedgerBroken(RuntimeError):
    """An account does not hold what its holds and bills say (never expected)."""


def _change(session: Session, resident_id: uuid.UUID, *, held: int = 0, owed: int = 0,
            now: datetime) -> None:
    """Subtract from held and/or owed (never below zero); refuse if the row disagrees."""
    c = ACCOUNTS.c
    result = session.execute(
        update(ACCOUNTS)
        .where(c.resident_id == resident_id, c.held_fen + held >= 0, c.owed_fen + owed >= 0)
        .values(held_fen=c.held_fen + held, owed_fen=c.owed_fen + owed, updated_at=now))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LedgerBroken(f"credit account {resident_id} cannot move held {held}, owed {owed}")


def release(session: Session, resident_id: uuid.UUID, hold_fen: int, now: datetime) -> None:
    """A hold voided or expired: its amount is available again."""
    _change(session, resident_id, held=-hold_fen, now=now)


def repay(session: Session, resident_id: uuid.UUID, amount_fen: int, now: datetime) -> None:
    _change(session, resident_id, owed=-amount_fen, now=now)


def balances(session: Session, resident_id: uuid.UUID) -> tuple[int, int, int]:
    """(line, held, owed) as stored now, (0, 0, 0) for a resident without an account."""
    row = session.execute(select(ACCOUNTS.c.line_fen, ACCOUNTS.c.held_fen, ACCOUNTS.c.owed_fen)
                          .where(ACCOUNTS.c.resident_id == resident_id)).first()
    return (0, 0, 0) if row is None else (int(row[0]), int(row[1]), int(row[2]))
