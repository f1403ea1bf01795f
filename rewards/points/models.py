"""Tables of the points ledger (see `rewards.points.ledger` for the invariants they carry).

* `points_accounts`: one per resident, one per partner (clearing), and the two system accounts
  `issuance` and `expiry`. Only resident accounts store a `balance` (a CHECK keeps it ≥ 0); the
  others derive theirs from their legs, so that redemptions at one partner never queue on one
  row.
* `points_transfers` / `points_legs`: the journal. Insert-only (triggers), one unique `key` per
  transfer (the idempotency of every earning, redemption, refund and expiry), legs that sum to
  zero (a deferred constraint trigger).
* `points_lots`: what each earning added, how much of it is left and how much expired, for
  oldest-first spending and expiry (a lot past its expiry never takes points back).
  `remaining` of a resident's lots always adds up to the account's balance.
* `points_redemptions` / `points_refunds` / `points_draws`: the partner-facing view of a
  redemption, its refunds (never more than redeemed: a CHECK), and which lots it drew from.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

ACCOUNT_KINDS = ("resident", "issuance", "clearing", "expiry")
TRANSFER_KINDS = ("earn", "redeem", "refund", "expire")


class Account(Base):
    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('resident','issuance','clearing','expiry')", name="kind"),
        CheckConstraint("kind <> 'resident' OR (balance IS NOT NULL AND balance >= 0)",
                        name="resident_balance_nonnegative"),
        CheckConstraint("(kind = 'resident') = (resident_id IS NOT NULL)", name="resident_owner"),
        CheckConstraint("(kind = 'clearing') = (partner_id IS NOT NULL)", name="partner_owner"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"),
                                                          unique=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partners.id"), unique=True)
    balance: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Transfer(Base):
    __tablename__ = "points_transfers"
    __table_args__ = (
        CheckConstraint("kind IN ('earn','redeem','refund','expire')", name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(index=True)
    rule: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(100))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("points_transfers.id"))


class Leg(Base):
    __tablename__ = "points_legs"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        Index("ix_points_legs_account_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_transfers.id"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)


class Lot(Base):
    __tablename__ = "points_lots"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("remaining >= 0 AND expired >= 0 AND remaining + expired <= points",
                        name="remaining_in_range"),
        Index("ix_points_lots_account_expires", "account_id", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_accounts.id"))
    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_transfers.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    expired: Mapped[int] = mapped_column(BigInteger)  # points this lot lost to expiry
    earned_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Redemption(Base):
    __tablename__ = "points_redemptions"
    __table_args__ = (
        UniqueConstraint("partner_id", "out_order_no", name="uq_points_redemptions_order"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("refunded >= 0 AND refunded <= points", name="refunded_in_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_transfers.id"))
    out_order_no: Mapped[str] = mapped_column(String(64))
    sub: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Refund(Base):
    __tablename__ = "points_refunds"
    __table_args__ = (
        UniqueConstraint("partner_id", "out_refund_no", name="uq_points_refunds_refund_no"),
        CheckConstraint("points > 0", name="points_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_redemptions.id"),
                                                     index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_transfers.id"))
    out_refund_no: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Draw(Base):
    __tablename__ = "points_draws"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("refunded >= 0 AND refunded <= points", name="refunded_in_range"),
    )

    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_redemptions.id"),
                                                     primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("points_lots.id"), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# Core tables for the hot path (a redemption runs Core statements on the session's connection:
# the same transaction, without the ORM's per-statement bookkeeping).
ACCOUNTS, TRANSFERS, LEGS = _table(Account), _table(Transfer), _table(Leg)
LOTS, REDEMPTIONS, DRAWS = _table(Lot), _table(Redemption), _table(Draw)
