"""The points ledger: accounts, transfers and legs (double entry, after django-hordak).

Design overview
---------------
Accounts: one `resident` account per resident, one `clearing` account per partner, and two
system accounts, `issuance` (where earned points come from) and `expiry` (where expired points
go). A transfer moves points between accounts as legs with signed amounts (+ adds to the
account). Earning is `issuance → resident`, a redemption `resident → clearing(partner)`, a
refund `clearing(partner) → resident` (the part whose lots already expired goes `→ expiry`
instead), an expiry `resident → expiry`.

Invariants, and what guarantees each:

1. Every transfer's legs sum to zero, and it has at least two legs — `post()` refuses anything
   else; a deferred constraint trigger re-checks every transfer at commit.
   Hence the sum of all legs is zero: points are never created or lost, only moved.
2. Transfers and legs are insert-only — triggers refuse UPDATE and DELETE. A correction is a
   new, reversing transfer.
3. Every effect happens once: each transfer has a unique `key` (`earn:<rule>:…`,
   `redeem:<partner>:<out_order_no>`, `refund:<partner>:<out_refund_no>`, `expire:<lot>`);
   redemptions and refunds are also unique per partner and order / refund number.
4. A resident's balance never goes negative — the `balance` column has a CHECK (≥ 0), and
   every debit is one conditional `UPDATE … SET balance = balance - :n WHERE balance >= :n`
   (never read-then-write; `pc_redeem` and `pc_points_expire`), so concurrent redemptions
   cannot overdraw.
5. A resident account's `balance` equals the sum of its legs and the sum of its lots'
   `remaining`: the balance, the legs and the lots change in the same transaction, and every
   change to a resident's lots happens while that transaction holds the account's row lock
   (it updated the account row first). `reconcile()` checks all of it.
6. Refunds never exceed the redemption: `points_redemptions.refunded` has a CHECK
   (`refunded <= points`) and grows by a conditional update.

Lock order (no deadlocks): redemption row → resident account row → lots.
System and clearing accounts keep no balance column (theirs is the sum of their legs), so
redemptions at one partner do not queue on a single row. Every account is created on first use
by `pc_points_account` (rewards/points/sql/ledger.sql), which the redemption function calls too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, event, func, insert, select, update
from sqlalchemy.orm import Session

from rewards.points.errors import InvalidPoints, LedgerError
from rewards.points.models import (
    ACCOUNTS,
    LEGS,
    TRANSFERS,
    Account,
    Leg,
    Lot,
    Redemption,
    Refund,
    Transfer,
)

MAX_POINTS = 10_000_000  # one movement; far above any rule or order


def check_points(points: Any) -> int:
    """`points` as a positive integer (booleans and floats refused), or `InvalidPoints`."""
    if type(points) is not int or not 0 < points <= MAX_POINTS:
        raise InvalidPoints(f"points must be a whole number from 1 to {MAX_POINTS}",
                            detail_zh="积分必须是正整数")
    return points


# -- accounts -------------------------------------------------------------------------------------

def _account(session: Session, code: str, kind: str, now: datetime, *,
             resident_id: uuid.UUID | None = None, partner_id: uuid.UUID | None = None,
             create: bool = True) -> uuid.UUID | None:
    """The id of the account `code`, created on first use (concurrent creators agree)."""
    if not create:
        return session.scalar(select(Account.id).where(Account.code == code))
    return session.scalar(select(func.pc_points_account(
        code, kind, resident_id, partner_id, now, type_=Uuid)))


def system_account(session: Session, kind: str, now: datetime) -> uuid.UUID:
    assert kind in ("issuance", "expiry")
    found = _account(session, kind, kind, now)
    assert found is not None
    return found


def resident_account(session: Session, resident_id: uuid.UUID, now: datetime, *,
                     create: bool = False) -> uuid.UUID | None:
    return _account(session, f"resident:{resident_id.hex}", "resident", now,
                    resident_id=resident_id, create=create)


_clearing: dict[uuid.UUID, uuid.UUID] = {}  # partner id -> its clearing account (never deleted)


def clearing_account(session: Session, partner_id: uuid.UUID, now: datetime, *,
                     create: bool = True) -> uuid.UUID | None:
    """The partner's clearing account; remembered per process once it exists (a redemption
    then needs no lookup)."""
    found = _clearing.get(partner_id)
    if found is None:
        found = _account(session, f"clearing:{partner_id.hex}", "clearing", now,
                         partner_id=partner_id, create=create)
        if found is not None and len(_clearing) < 100_000:
            account = found  # remembered only once it is surely committed
            event.listen(session, "after_commit",
                         lambda _s: _clearing.__setitem__(partner_id, account), once=True)
    return found


# -- balances (resident accounts only) ------------------------------------------------------------

def credit(session: Session, account_id: uuid.UUID, points: int) -> None:
    """Add to a resident's balance (takes the account's row lock)."""
    done = session.connection().execute(
        update(ACCOUNTS).where(ACCOUNTS.c.id == account_id, ACCOUNTS.c.kind == "resident")
        .values(balance=ACCOUNTS.c.balance + points))
    if done.rowcount != 1:
        raise LedgerError(f"no resident account {account_id}")


def lock(session: Session, account_id: uuid.UUID) -> int:
    """Take a resident account's row lock (before touching its lots); returns the balance."""
    balance = session.connection().scalar(
        update(ACCOUNTS).where(ACCOUNTS.c.id == account_id)
        .values(balance=ACCOUNTS.c.balance).returning(ACCOUNTS.c.balance))
    if balance is None:
        raise LedgerError(f"no resident account {account_id}")
    return int(balance)


# -- transfers ------------------------------------------------------------------------------------

def post(session: Session, *, key: str, kind: str, legs: Sequence[tuple[uuid.UUID, int]],
         now: datetime, rule: str | None = None, reference: str | None = None,
         reverses_id: uuid.UUID | None = None) -> uuid.UUID:
    """Write one transfer and its legs (balances are the caller's: see `credit`)."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if len(legs) < 2 or sum(amount for _, amount in legs) != 0:
        raise LedgerError(f"transfer {key!r} does not balance: {legs}")
    transfer_id = uuid.uuid4()
    conn = session.connection()
    conn.execute(insert(TRANSFERS).values(
        id=transfer_id, key=key, kind=kind, at=now, rule=rule, reference=reference,
        reverses_id=reverses_id))
    conn.execute(insert(LEGS), [{"transfer_id": transfer_id, "account_id": account,
                                 "amount": amount} for account, amount in legs])
    return transfer_id


def exists(session: Session, key: str) -> bool:
    return session.scalar(select(Transfer.id).where(Transfer.key == key)) is not None


# -- reading --------------------------------------------------------------------------------------

def balance_of(session: Session, account_id: uuid.UUID) -> int:
    """Any account's balance as the sum of its legs."""
    return int(session.scalar(select(func.coalesce(func.sum(Leg.amount), 0))
                              .where(Leg.account_id == account_id)) or 0)


@dataclass(frozen=True)
class Reconciliation:
    legs_total: int
    unbalanced_transfers: int
    negative_balances: int
    balance_mismatches: int
    lot_mismatches: int
    refund_mismatches: int
    accounts: int
    transfers: int

    @property
    def ok(self) -> bool:
        return not (self.legs_total or self.unbalanced_transfers or self.negative_balances
                    or self.balance_mismatches or self.lot_mismatches or self.refund_mismatches)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def reconcile(session: Session) -> Reconciliation:
    """Check every invariant of the whole ledger (an operator's or a benchmark's audit)."""
    legs_total = session.scalar(select(func.coalesce(func.sum(Leg.amount), 0))) or 0
    per_transfer = (select(Leg.transfer_id).group_by(Leg.transfer_id)
                    .having((func.sum(Leg.amount) != 0) | (func.count() < 2)).subquery())
    unbalanced = session.scalar(select(func.count()).select_from(per_transfer)) or 0
    unlegged = session.scalar(select(func.count()).select_from(Transfer).where(
        ~select(Leg.id).where(Leg.transfer_id == Transfer.id).exists())) or 0
    leg_sums = (select(Leg.account_id, func.sum(Leg.amount).label("total"))
                .group_by(Leg.account_id).subquery())
    lot_sums = (select(Lot.account_id, func.sum(Lot.remaining).label("total"))
                .group_by(Lot.account_id).subquery())
    residents = select(Account).where(Account.kind == "resident").subquery()
    negative = session.scalar(select(func.count()).select_from(residents)
                              .where(residents.c.balance < 0)) or 0
    mismatched = session.scalar(
        select(func.count()).select_from(residents)
        .outerjoin(leg_sums, leg_sums.c.account_id == residents.c.id)
        .where(residents.c.balance != func.coalesce(leg_sums.c.total, 0))) or 0
    lots_off = session.scalar(
        select(func.count()).select_from(residents)
        .outerjoin(lot_sums, lot_sums.c.account_id == residents.c.id)
        .where(residents.c.balance != func.coalesce(lot_sums.c.total, 0))) or 0
    refund_sums = (select(Refund.redemption_id, func.sum(Refund.points).label("total"))
                   .group_by(Refund.redemption_id).subquery())
    refunds_off = session.scalar(
        select(func.count()).select_from(Redemption)
        .outerjoin(refund_sums, refund_sums.c.redemption_id == Redemption.id)
        .where((Redemption.refunded != func.coalesce(refund_sums.c.total, 0))
               | (Redemption.refunded > Redemption.points))) or 0
    return Reconciliation(
        legs_total=int(legs_total), unbalanced_transfers=int(unbalanced + unlegged),
        negative_balances=int(negative), balance_mismatches=int(mismatched),
        lot_mismatches=int(lots_off), refund_mismatches=int(refunds_off),
        accounts=int(session.scalar(select(func.count()).select_from(Account)) or 0),
        transfers=int(session.scalar(select(func.count()).select_from(Transfer)) or 0))
