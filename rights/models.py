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
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, event, text
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from core.crypto import Keyring
from core.db import Base

DISPUTE_OUTCOMES = ("upheld", "corrected", "removed")
REPAIR_DECISIONS = ("approve", "reject")
REVIEW_SUBJECTS = ("score", "eligibility")
REVIEW_OUTCOMES = ("confirmed", "changed")
REVIEW_EFFECTS = ("record_corrected", "record_removed", "eligibility_override")  # of "changed"


# -- free text: encrypted under the resident's data key -----------------------------------------
# Reasons, evidence, statements and operator notes are the resident's personal data: each is
# stored in a `<field>_ct` column, AES-GCM under the resident's data key with associated data
# naming the table, column and row, so erasure's crypto-shredding covers them. The `<field>`
# column is what rows written before migration 0024 hold in plain; `encrypt_free_text` (run by
# `python -m app.migrate`) moves them to ciphertext. Sessions carry the keyring in
# `session.info["keyring"]` (every session factory of `app.runtime`, and the tests').

T = TypeVar("T")


def free_text_aad(table: str, column: str, row_id: uuid.UUID) -> str:
    return f"{table}:{column}:{row_id}"


def _keyring(session: Session) -> Keyring:
    keyring = session.info.get("keyring")
    if not isinstance(keyring, Keyring):
        raise RuntimeError("this session carries no keyring (session.info['keyring'])")
    return keyring


class FreeText(Generic[T]):
    """A free-text field read and written in plain, stored encrypted (see above)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> FreeText[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: Any, owner: type) -> FreeText[T] | T:
        if obj is None:
            return self
        for known in ("_free_text_pending", "_free_text_clear"):
            if self.name in obj.__dict__.get(known, {}):
                return obj.__dict__[known][self.name]  # type: ignore[no-any-return]
        blob = getattr(obj, f"{self.name}_ct")
        if blob is None:
            return getattr(obj, f"{self.name}_plain")  # type: ignore[no-any-return]
        session = object_session(obj)
        assert session is not None, "free text is read from a row attached to a session"
        value = _keyring(session).decrypt(
            session, blob, free_text_aad(obj.__tablename__, self.name, obj.id))
        # Kept with the row, so it still reads once its unit of work has closed.
        obj.__dict__.setdefault("_free_text_clear", {})[self.name] = value
        return value  # type: ignore[return-value]

    def __set__(self, obj: object, value: T) -> None:
        obj.__dict__.get("_free_text_clear", {}).pop(self.name, None)
        obj.__dict__.setdefault("_free_text_pending", {})[self.name] = value
        setattr(obj, f"{self.name}_ct", None)  # the row is dirty: encrypted at flush
        setattr(obj, f"{self.name}_plain", None)


FREE_TEXT: dict[str, tuple[str, ...]] = {}


def _seal(session: Session, obj: Any) -> None:
    pending: dict[str, str | None] = obj.__dict__.pop("_free_text_pending", {})
    if not pending:
        return
    from core.identity import Resident
    with session.no_autoflush:
        resident = session.get(Resident, obj.resident_id)
    assert resident is not None
    keyring = _keyring(session)
    obj.__dict__.setdefault("_free_text_clear", {}).update(pending)
    for name, value in pending.items():
        setattr(obj, f"{name}_plain", None)
        setattr(obj, f"{name}_ct", None if value is None else keyring.encrypt(
            session, resident.data_key_id, value, free_text_aad(obj.__tablename__, name, obj.id)))


@event.listens_for(Session, "before_flush")
def _encrypt_free_text(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new) + list(session.dirty):
        if getattr(obj, "__tablename__", None) in FREE_TEXT:
            _seal(session, obj)


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
    reason_plain: Mapped[str | None] = mapped_column("reason", String(1000))
    reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    reason: FreeText[str] = FreeText()
    evidence_plain: Mapped[str | None] = mapped_column("evidence", Text)
    evidence_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    evidence: FreeText[str | None] = FreeText()
    status: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str | None] = mapped_column(String(10))
    note_plain: Mapped[str | None] = mapped_column("note", String(1000))
    note_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    note: FreeText[str | None] = FreeText()
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
    statement_plain: Mapped[str | None] = mapped_column("statement", String(2000))
    statement_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    statement: FreeText[str | None] = FreeText()
    status: Mapped[str] = mapped_column(String(10))
    note_plain: Mapped[str | None] = mapped_column("note", String(1000))
    note_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    note: FreeText[str | None] = FreeText()
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
    reason_plain: Mapped[str | None] = mapped_column("reason", String(1000))
    reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    reason: FreeText[str] = FreeText()
    snapshot: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str | None] = mapped_column(String(10))
    note_plain: Mapped[str | None] = mapped_column("note", String(1000))
    note_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    note: FreeText[str | None] = FreeText()
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


FREE_TEXT.update({"disputes": ("reason", "evidence", "note"), "repairs": ("statement", "note"),
                  "review_requests": ("reason", "note")})


def seal_plain_free_text(session: Session) -> int:
    """Encrypt the free text of rows written before migration 0024 (held in plain), under each
    resident's data key, and clear the plain columns; the caller commits. The data step of
    0024: the migration has no keys. Returns how many rows were sealed."""
    from sqlalchemy import or_, select
    sealed = 0
    for model in (Dispute, Repair, ReviewRequest):
        names = FREE_TEXT[model.__tablename__]
        plain = [getattr(model, f"{name}_plain") for name in names]
        for row in session.scalars(select(model).where(or_(*(c.is_not(None) for c in plain)))):
            for name in names:
                value = getattr(row, f"{name}_plain")
                if value is not None:
                    setattr(row, name, value)
            sealed += 1
    session.flush()
    return sealed
