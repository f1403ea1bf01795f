"""Tables of the rights package: disputes, credit repairs, human reviews, erasures.

Design overview
---------------
* A **dispute** (异议) is one resident's objection to one record. It is `open` until an
  operator resolves it (`upheld`, `corrected` or `removed`). A partial unique index allows at
  most one open dispute per record: the database, not only Python, refuses a second one.
* A **repair** (信用修复) is an application to stop a negative record counting once its
  minimum publicity period has passed and the obligation is met; `pending` until an operator
  approves or rejects it. At most one pending repair per record (partial unique index).
* A **review request** (PIPL art. 24) asks a person to review an automated decision — the
  score or an eligibility decision. It stores the explanation the resident saw, as a snapshot,
  so the reviewer judges exactly what was decided. A decided request names its `effect`
  (`rights.reviews`): `confirmed` (with the reasons in its note), a record corrected or
  removed, or an eligibility override; the database requires an effect exactly when decided.
* An **eligibility override** is the effect of a review that found a scenario decision wrong:
  the resident counts as eligible for that scenario from `granted_at` until `ends_at`
  (entitlements, tokens and the 先诊后付 authorization honour it). It goes with its review.
* An **erasure** row is the statement given when the resident erased their account; a repeated
  request answers with it again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

DISPUTE_OUTCOMES = ("upheld", "corrected", "removed")
REPAIR_DECISIONS = ("approve", "reject")
REVIEW_SUBJECTS = ("score", "eligibility")
REVIEW_OUTCOMES = ("confirmed", "changed")
REVIEW_EFFECTS = ("record_corrected", "record_removed", "eligibility_override")  # of "changed"


class Dispute(Base):
    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("status IN ('open','resolved')", name="status"),
        CheckConstraint("outcome IS NULL OR outcome IN ('upheld','corrected','removed')",
                        name="outcome"),
        CheckConstraint("(status = 'open') = (outcome IS NULL)", name="outcome_when_resolved"),
        # One open dispute per record.
        Index("uq_disputes_open_record", "record_id", unique=True,
              postgresql_where=text("status = 'open'")),
        Index("ix_disputes_resident_opened", "resident_id", "opened_at"),
        Index("ix_disputes_status_due", "status", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"))
    reason: Mapped[str] = mapped_column(String(1000))
    evidence: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(1000))
    correction: Mapped[dict[str, Any] | None]
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime]
    overdue_flagged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(80))


class Repair(Base):
    __tablename__ = "repairs"
    __table_args__ = (
        CheckConstraint("status IN ('pending','approved','rejected')", name="status"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided"),
        Index("uq_repairs_pending_record", "record_id", unique=True,
              postgresql_where=text("status = 'pending'")),
        Index("ix_repairs_resident_requested", "resident_id", "requested_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"))
    pledge_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the pledge text agreed to
    statement: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(1000))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(80))


class ReviewRequest(Base):
    __tablename__ = "review_requests"
    __table_args__ = (
        CheckConstraint("subject IN ('score','eligibility')", name="subject"),
        CheckConstraint("status IN ('open','decided')", name="status"),
        CheckConstraint("outcome IS NULL OR outcome IN ('confirmed','changed')", name="outcome"),
        CheckConstraint("(status = 'open') = (outcome IS NULL)", name="outcome_when_decided"),
        CheckConstraint("(status = 'open') = (effect IS NULL)", name="effect_when_decided"),
        Index("ix_review_requests_resident_requested", "resident_id", "requested_at"),
        Index("ix_review_requests_status", "status", "requested_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    subject: Mapped[str] = mapped_column(String(12))
    scenario: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(1000))
    snapshot: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(1000))
    effect: Mapped[dict[str, Any] | None]
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(80))


class EligibilityOverride(Base):
    __tablename__ = "eligibility_overrides"
    __table_args__ = (
        CheckConstraint("ends_at > granted_at", name="ends_after_granted"),
        Index("ix_eligibility_overrides_resident", "resident_id", "scenario", "ends_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    scenario: Mapped[str] = mapped_column(String(40))
    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_requests.id", ondelete="CASCADE"), unique=True)
    granted_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    granted_by: Mapped[str] = mapped_column(String(80))


class Erasure(Base):
    __tablename__ = "erasures"

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    erased_at: Mapped[datetime]
    statement: Mapped[dict[str, Any]]
