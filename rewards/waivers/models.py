"""Tables of deposit waivers (免押).

Design overview
---------------
* `deposit_waivers`: one row per waived deposit: `active` until the item comes back
  (`completed`) or the partner reports it was not (`defaulted`); a default is `settled` when
  the item comes back late or the deposit is paid. `deposit_fen <= cap_fen` (the tier's cap at
  creation) is a CHECK; `(partner, out_order_no)` is unique. `record_id` names the
  `scenario_performance` record written when a default outlasts its grace period.
* `deposit_waiver_slots`: per resident and scenario, how many waivers hold a slot (active or
  defaulted-and-unsettled). Taking a slot is one conditional `UPDATE … SET used = used + 1
  WHERE used < :max_active`, so concurrent partners can never exceed the tier's limit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

STATUSES = ("active", "completed", "defaulted", "settled")


class DepositWaiver(Base):
    __tablename__ = "deposit_waivers"
    __table_args__ = (
        UniqueConstraint("partner_id", "out_order_no"),
        CheckConstraint("deposit_fen > 0 AND deposit_fen <= cap_fen", name="deposit_within_cap"),
        CheckConstraint("status IN ('active', 'completed', 'defaulted', 'settled')",
                        name="status"),
        CheckConstraint("due_at > created_at", name="due_after_created"),
        Index("ix_deposit_waivers_status_defaulted", "status", "defaulted_at"),
        Index("ix_deposit_waivers_partner_created", "partner_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    scenario: Mapped[str] = mapped_column(String(40))
    out_order_no: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(200))
    deposit_fen: Mapped[int] = mapped_column(BigInteger)
    cap_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    defaulted_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    record_id: Mapped[uuid.UUID | None]  # the deposit_defaulted / deposit_returned record


class WaiverSlots(Base):
    __tablename__ = "deposit_waiver_slots"
    __table_args__ = (CheckConstraint("used >= 0", name="used_non_negative"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(40), primary_key=True)
    used: Mapped[int]
    updated_at: Mapped[datetime]
