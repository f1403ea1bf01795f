"""Tables of 先诊后付 (credit medical care).

Design overview
---------------
* `credit_accounts`: one row per resident: the line in force (`line_fen`, the tier's limit at
  the last authorization), the sum of open holds (`held_fen`) and of unpaid bills (`owed_fen`).
  CHECK `held_fen + owed_fen <= line_fen`, all non-negative: the database refuses any overspend.
  Every change is one conditional `UPDATE … SET held_fen = held_fen + :amount WHERE
  held_fen + owed_fen + :amount <= :line` — no read-then-write — so concurrent counters
  serialize on the row and the second sees the first's hold.
* `credit_holds`: pending transfers against the line (a card pre-authorization): `held` until
  captured, voided or expired. `(partner, out_request_no)` unique.
* `credit_bills`: posted transfers: a captured hold becomes a bill due in N days; `open`,
  `overdue` (past due, unpaid) or `paid`. `paid_fen <= amount_fen` and `paid` exactly when
  fully paid are CHECKs. `record_id` names the `scenario_performance` record written when an
  overdue bill outlasts its grace period (repaired when paid).
* `credit_payments`: one row per payment through a payment channel (or the development demo
  channel); `(partner, out_payment_no)` unique.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

HOLD_STATUSES = ("held", "captured", "voided", "expired")
BILL_STATUSES = ("open", "overdue", "paid")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CreditAccount(Base):
    __tablename__ = "credit_accounts"
    __table_args__ = (
        CheckConstraint("line_fen >= 0 AND held_fen >= 0 AND owed_fen >= 0",
                        name="non_negative"),
        CheckConstraint("held_fen + owed_fen <= line_fen", name="within_line"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    line_fen: Mapped[int] = mapped_column(BigInteger)
    held_fen: Mapped[int] = mapped_column(BigInteger)
    owed_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CreditHold(Base):
    __tablename__ = "credit_holds"
    __table_args__ = (
        UniqueConstraint("partner_id", "out_request_no"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(_in("status", HOLD_STATUSES), name="status"),
        CheckConstraint("(status = 'held') = (closed_at IS NULL)", name="closed_when_not_held"),
        Index("ix_credit_holds_status_expires", "status", "expires_at"),
        Index("ix_credit_holds_partner_created", "partner_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    out_request_no: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    line_fen: Mapped[int] = mapped_column(BigInteger)  # the line in force when authorized
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # The partner's counter staff member who placed it and who voided it (None: the API key).
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partner_staff.id"))
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partner_staff.id"))


class CreditBill(Base):
    __tablename__ = "credit_bills"
    __table_args__ = (
        UniqueConstraint("partner_id", "out_bill_no"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("paid_fen >= 0 AND paid_fen <= amount_fen", name="paid_within_amount"),
        CheckConstraint(_in("status", BILL_STATUSES), name="status"),
        CheckConstraint("(status = 'paid') = (paid_fen = amount_fen)", name="paid_when_settled"),
        Index("ix_credit_bills_status_due", "status", "due_at"),
        Index("ix_credit_bills_partner_created", "partner_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    hold_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credit_holds.id"), unique=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    out_bill_no: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    record_id: Mapped[uuid.UUID | None]  # the medical_credit_overdue record, once reported
    # The counter staff member who captured it (None: the partner's API key).
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partner_staff.id"))

    @property
    def owed_fen(self) -> int:
        return self.amount_fen - self.paid_fen


class CreditPayment(Base):
    __tablename__ = "credit_payments"
    __table_args__ = (
        UniqueConstraint("partner_id", "out_payment_no"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("channel IN ('partner', 'demo')", name="channel"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credit_bills.id"), index=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partners.id"))
    channel: Mapped[str] = mapped_column(String(10))
    out_payment_no: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
