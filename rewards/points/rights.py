"""The points part of a resident's rights: data export and what erasure keeps (and why).

Used by the rights package (`me/export`, erasure). Plain JSON: ISO times, string ids.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.idempotency import iso
from rewards.points.models import Account, Leg, Lot, Redemption, Transfer

# 会计档案管理办法 (2015) art. 14 and its schedule: vouchers and ledgers are kept 30 years.
SETTLEMENT_YEARS = 30


def _account(session: Session, resident_id: uuid.UUID) -> Account | None:
    return session.scalars(select(Account).where(Account.resident_id == resident_id)).first()


def export_section(session: Session, resident_id: uuid.UUID) -> dict[str, Any]:
    """The resident's points account, balance, every transfer touching it, and its lots."""
    account = _account(session, resident_id)
    if account is None:
        return {"account": None, "balance": 0, "transfers": [], "lots": [], "redemptions": []}
    rows = session.execute(
        select(Transfer, Leg.amount).join(Leg, Leg.transfer_id == Transfer.id)
        .where(Leg.account_id == account.id).order_by(Leg.id))
    transfers = [{"id": str(t.id), "kind": t.kind, "points": int(amount), "at": iso(t.at),
                  "rule": t.rule, "reference": t.reference,
                  "reverses": str(t.reverses_id) if t.reverses_id else None}
                 for t, amount in rows]
    lots = [{"id": str(lot.id), "points": lot.points, "remaining": lot.remaining,
             "expired": lot.expired, "earned_at": iso(lot.earned_at),
             "expires_at": iso(lot.expires_at)}
            for lot in session.scalars(select(Lot).where(Lot.account_id == account.id)
                                       .order_by(Lot.earned_at, Lot.id))]
    redemptions = [{"id": str(r.id), "partner_id": str(r.partner_id),
                    "out_order_no": r.out_order_no, "points": r.points, "refunded": r.refunded,
                    "created_at": iso(r.created_at)}
                   for r in session.scalars(select(Redemption)
                                            .where(Redemption.account_id == account.id)
                                            .order_by(Redemption.created_at))]
    return {"account": {"id": str(account.id), "created_at": iso(account.created_at)},
            "balance": int(account.balance or 0), "transfers": transfers, "lots": lots,
            "redemptions": redemptions}


def retention(session: Session, resident_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """What the points ledger keeps after erasure, until when and why."""
    account = _account(session, resident_id)
    if account is None:
        return []
    last = session.scalar(select(func.max(Transfer.at)).join(Leg, Leg.transfer_id == Transfer.id)
                          .where(Leg.account_id == account.id))
    base = last or now
    until = iso(base.replace(year=base.year + SETTLEMENT_YEARS)
                if not (base.month == 2 and base.day == 29)
                else base.replace(year=base.year + SETTLEMENT_YEARS, day=28))
    return [
        {"what": "points ledger transfers and legs (points, times, rules, partners' order "
                 "numbers)",
         "until": until,
         "why_zh": "积分账本是与合作商户清算结算的会计凭证，依据《会计档案管理办法》保存30年；"
                   "账本只增不改，删除会破坏所有账户的平衡",
         "why_en": "The ledger is the accounting record of settlement with partner merchants, "
                   "kept 30 years under the Accounting Archives Measures; it is append-only "
                   "and deleting entries would unbalance every other account"},
        {"what": "redemptions and refunds at partners (with the partner's pseudonym of you)",
         "until": until,
         "why_zh": "用于商户对账及退款、争议处理，保存期限同上",
         "why_en": "Needed for partners' reconciliation, refunds and disputes; same period"},
    ]
