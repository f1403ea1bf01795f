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
from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class StatementLine:
    """A redemption (+) or a refund (−) on the partner's clearing account."""

    at: datetime
    type: str  # redemption | refund
    points: int
    out_order_no: str | None
    out_refund_no: str | None
    redemption_id: uuid.UUID | None
    refund_id: uuid.UUID | None
    sub: str | None
    transfer_id: uuid.UUID


@dataclass(frozen=True)
class PartnerName:
    client_id: str
    name: str


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # exclusive


@dataclass(frozen=True)
class Statement:
    """A partner's clearing statement for a period."""

    partner: PartnerName
    period: Period
    opening_balance: int
    lines: list[StatementLine]
    account: str = "clearing"

    @property
    def redeemed(self) -> int:
        return sum(line.points for line in self.lines if line.points > 0)

    @property
    def refunded(self) -> int:
        return -sum(line.points for line in self.lines if line.points < 0)

    @property
    def net(self) -> int:
        return self.redeemed - self.refunded

    @property
    def closing_balance(self) -> int:
        return self.opening_balance + self.net

    @property
    def count(self) -> int:
        return len(self.lines)


PARTNER_KINDS = ("redeem", "refund")  # the movements that name a partner


@dataclass(frozen=True)
class PointsItem:
    """One movement on the resident's account."""

    transfer_id: uuid.UUID
    kind: str  # earn | redeem | refund | expire
    points: int
    at: datetime
    rule: str | None
    title: dict[str, str] | None
    partner: str | None = None  # the partner's name, for the `PARTNER_KINDS`

    @property
    def names_partner(self) -> bool:
        return self.kind in PARTNER_KINDS


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_at: datetime


@dataclass(frozen=True)
class PointsOverview:
    """The resident's points: spendable balance, recent movements, what expires soon."""

    balance: int
    history: list[PointsItem]
    expiring: list[Expiring]
    expiring_within_days: int

    @property
    def expiring_total(self) -> int:
        return sum(e.points for e in self.expiring)


def check_period(start: datetime, end: datetime) -> None:
    if not start < end or end - start > MAX_PERIOD:
        raise InvalidPeriod(f"`from` must be before `to`, at most {MAX_PERIOD.days} days apart")


def clearing_statement(uow: UnitOfWork, partner: Partner, *, start: datetime, end: datetime
                       ) -> Statement:
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
    return Statement(PartnerName(partner.client_id, partner.name), Period(start, end), opening,
                     lines)


def operator_statement(uow: UnitOfWork, *, operator: str, client_id: str, start: datetime,
                       end: datetime, now: datetime) -> Statement:
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
          redemption: Redemption | None, refund: Refund | None) -> StatementLine:
    return StatementLine(
        at=at, type="redemption" if kind == "redeem" else "refund", points=int(amount),
        out_order_no=redemption.out_order_no if redemption else None,
        out_refund_no=refund.out_refund_no if refund else None,
        redemption_id=redemption.id if redemption else None,
        refund_id=refund.id if refund else None,
        sub=redemption.sub if redemption else None, transfer_id=transfer_id)


def as_csv(statement: Statement) -> str:
    """The statement as CSV: a header row, an `opening_balance` row, one row per line, and a
    `closing_balance` row (opening + the lines' `points` = closing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    padding = [""] * (len(CSV_COLUMNS) - 3)
    writer.writerow([iso(statement.period.start), "opening_balance", statement.opening_balance,
                     *padding])
    for line in statement.lines:
        cells = {**vars(line), "at": iso(line.at)}
        writer.writerow(["" if cells[c] is None else cells[c] for c in CSV_COLUMNS])
    writer.writerow([iso(statement.period.end), "closing_balance", statement.closing_balance,
                     *padding])
    return out.getvalue()


# -- the resident's view --------------------------------------------------------------------------

def resident_points(uow: UnitOfWork, resident_id: uuid.UUID, *, rules: Rules, now: datetime,
                    limit: int = 50) -> PointsOverview:
    """Spendable points, the `limit` latest movements, what expires soon."""
    session = uow.session
    within = rules.expiring_soon.days
    account = ledger.resident_account(session, resident_id, now)
    if account is None:
        return PointsOverview(0, [], [], within)
    stored = session.scalar(select(Account.balance).where(Account.id == account)) or 0
    balance = int(stored) - expiry.due_total(session, account, now)
    rows = session.execute(
        select(Transfer, Leg.amount).join(Leg, Leg.transfer_id == Transfer.id)
        .where(Leg.account_id == account).order_by(Leg.id.desc()).limit(limit))
    partners: dict[uuid.UUID, str] = {}
    history = [
        PointsItem(transfer.id, transfer.kind, int(amount), transfer.at, transfer.rule,
                   rules.named(transfer.rule),
                   _partner_name(session, transfer, partners)
                   if transfer.kind in PARTNER_KINDS else None)
        for transfer, amount in rows]
    soon = [Expiring(e["points"], e["expires_at"])
            for e in expiry.expiring(session, account, now, rules.expiring_soon)]
    return PointsOverview(balance, history, soon, within)


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
