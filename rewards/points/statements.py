"""Statements: a partner's clearing statement and a resident's points overview.

A partner's clearing account holds the points redeemed at that partner, net of refunds: the
amount the points programme settles with the partner. A statement for `[from, to)` lists every
redemption (+) and refund (−) on it in that period, with the opening balance (everything before
`from`) and the closing balance, so consecutive statements chain and the sum of all statements
is the account's balance. Lines carry the partner's own references (`out_order_no`,
`out_refund_no`) and pseudonym (`sub`) — never who the resident is. An operator may read any
partner's statement (`operator_statement`); the read is audited.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Partner
from rewards.entitlements import partner_by_client_id
from rewards.points import expiry, ledger
from rewards.points.earning import Rules
from rewards.points.errors import InvalidPeriod
from rewards.points.models import Account, Leg, Redemption, Refund, Transfer

MAX_PERIOD = timedelta(days=93)
CSV_COLUMNS = ("at", "type", "points", "out_order_no", "out_refund_no", "redemption_id",
               "refund_id", "sub", "transfer_id")


def check_period(start: datetime, end: datetime) -> None:
    if not start < end or end - start > MAX_PERIOD:
        raise InvalidPeriod(f"`from` must be before `to`, at most {MAX_PERIOD.days} days apart")


def clearing_statement(uow: UnitOfWork, partner: Partner, *, start: datetime, end: datetime
                       ) -> dict[str, Any]:
    """The partner's clearing statement for `[start, end)`."""
    check_period(start, end)
    session = uow.session
    account = ledger.clearing_account(session, partner.id, start, create=False)
    opening, lines = 0, []
    if account is not None:
        opening = int(session.scalar(
            select(func.coalesce(func.sum(Leg.amount), 0)).join(Transfer)
            .where(Leg.account_id == account, Transfer.at < start)) or 0)
        rows = session.execute(
            select(Transfer.at, Transfer.kind, Transfer.id, Leg.amount, Redemption, Refund)
            .join(Leg, Leg.transfer_id == Transfer.id)
            .outerjoin(Refund, Refund.transfer_id == Transfer.id)
            .outerjoin(Redemption, or_(Redemption.transfer_id == Transfer.id,
                                       Redemption.id == Refund.redemption_id))
            .where(Leg.account_id == account, Transfer.at >= start, Transfer.at < end)
            .order_by(Transfer.at, Leg.id))
        lines = [_line(*row) for row in rows]
    redeemed = sum(line["points"] for line in lines if line["points"] > 0)
    refunded = -sum(line["points"] for line in lines if line["points"] < 0)
    return {
        "partner": {"client_id": partner.client_id, "name": partner.name},
        "account": "clearing", "period": {"from": iso(start), "to": iso(end)},
        "opening_balance": opening, "redeemed": redeemed, "refunded": refunded,
        "net": redeemed - refunded, "closing_balance": opening + redeemed - refunded,
        "count": len(lines), "lines": lines,
    }


def operator_statement(uow: UnitOfWork, *, operator: str, client_id: str, start: datetime,
                       end: datetime, now: datetime) -> dict[str, Any]:
    """Any partner's clearing statement, read by the operator `operator` (a client id): the
    read is audited. Commits once."""
    partner = partner_by_client_id(uow.session, client_id)
    found = clearing_statement(uow, partner, start=start, end=end)
    audit.record(uow.session, actor=f"operator:{operator}", action="points.statement.read",
                 now=now, subject=partner.client_id,
                 data={"from": start.isoformat(), "to": end.isoformat()})
    uow.commit()
    return found


def _line(at: datetime, kind: str, transfer_id: uuid.UUID, amount: int,
         redemption: Redemption | None, refund: Refund | None) -> dict[str, Any]:
    return {
        "at": iso(at), "type": "redemption" if kind == "redeem" else "refund",
        "points": int(amount),
        "out_order_no": redemption.out_order_no if redemption else None,
        "out_refund_no": refund.out_refund_no if refund else None,
        "redemption_id": str(redemption.id) if redemption else None,
        "refund_id": str(refund.id) if refund else None,
        "sub": redemption.sub if redemption else None,
        "transfer_id": str(transfer_id),
    }


def as_csv(statement: dict[str, Any]) -> str:
    """The statement as CSV: a header row, an `opening_balance` row, one row per line, and a
    `closing_balance` row (opening + the lines' `points` = closing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    period = statement["period"]
    writer.writerow([period["from"], "opening_balance", statement["opening_balance"]]
                    + [""] * (len(CSV_COLUMNS) - 3))
    for line in statement["lines"]:
        writer.writerow(["" if line[c] is None else line[c] for c in CSV_COLUMNS])
    writer.writerow([period["to"], "closing_balance", statement["closing_balance"]]
                    + [""] * (len(CSV_COLUMNS) - 3))
    return out.getvalue()


# -- the resident's view --------------------------------------------------------------------------

def resident_points(uow: UnitOfWork, resident_id: uuid.UUID, *, rules: Rules, now: datetime,
                    limit: int = 50) -> dict[str, Any]:
    """`{balance, history, expiring}`: spendable points, recent movements, what expires soon."""
    session = uow.session
    account = ledger.resident_account(session, resident_id, now)
    if account is None:
        return {"balance": 0, "history": [], "expiring": [], "expiring_total": 0,
                "expiring_within_days": rules.expiring_soon.days}
    stored = session.scalar(select(Account.balance).where(Account.id == account)) or 0
    balance = int(stored) - expiry.due_total(session, account, now)
    rows = session.execute(
        select(Transfer, Leg.amount).join(Leg, Leg.transfer_id == Transfer.id)
        .where(Leg.account_id == account).order_by(Leg.id.desc()).limit(limit))
    partners: dict[uuid.UUID, str] = {}
    history = []
    for transfer, amount in rows:
        item: dict[str, Any] = {"transfer_id": str(transfer.id), "kind": transfer.kind,
                                "points": int(amount), "at": iso(transfer.at),
                                "rule": transfer.rule, "title": rules.named(transfer.rule)}
        if transfer.kind in ("redeem", "refund"):
            item["partner"] = _partner_name(session, transfer, partners)
        history.append(item)
    soon = expiry.expiring(session, account, now, rules.expiring_soon)
    return {"balance": balance,
            "history": history,
            "expiring": [{"points": e["points"], "expires_at": iso(e["expires_at"])}
                         for e in soon],
            "expiring_total": sum(e["points"] for e in soon),
            "expiring_within_days": rules.expiring_soon.days}


def _partner_name(session: Session, transfer: Transfer, cache: dict[uuid.UUID, str]
                  ) -> str | None:
    redemption_id = transfer.id if transfer.kind == "redeem" else transfer.reverses_id
    partner_id = session.scalar(select(Redemption.partner_id)
                                .where(Redemption.transfer_id == redemption_id))
    if partner_id is None:
        return None
    if partner_id not in cache:
        partner = session.get(Partner, partner_id)
        cache[partner_id] = partner.name if partner else ""
    return cache[partner_id]
