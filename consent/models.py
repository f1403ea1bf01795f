"""Consent tables: notice versions, consent records, consent events.

Design overview
---------------
* A **notice** row is immutable (insert-only in the database): purpose, version, the zh and en
  texts, categories, recipients, retention and whether separate consent is required, and the
  SHA-256 of its canonical document (`hash`) — the proof of exactly what a resident was shown.
  The current notice of a purpose is its highest version. The database refuses a blank text, a
  purpose other than `scoring` / `scenario:<code>`, and a scenario notice without recipients
  or without separate consent (migration 0023).
* A **consent record** is one grant by one resident for one purpose under one notice version,
  with the categories chosen. Its scope never changes; its `status` moves once, from `active`
  to `withdrawn`, `expired` or `invalidated`. A partial unique index allows at most one active
  record per resident × purpose: that index is what the gate reads (one indexed query) and what
  makes concurrent identical grants create one record. A record (and an event) names a notice
  of its own purpose — a foreign key on (notice_id, purpose) — so nobody holds a consent to a
  scenario whose notice was never published.
* **Consent events** are append-only (insert-only in the database), named with DPV terms:
  given, renewed, withdrawn, expired, invalidated. Each names the actor, the channel, the notice
  hash and language shown, and carries the signed receipt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

STATUSES = ("active", "withdrawn", "expired", "invalidated")
EVENTS = ("given", "renewed", "withdrawn", "expired", "invalidated")
CHANNELS = ("api", "miniprogram", "h5", "counter", "system", "demo")
LANGUAGES = ("zh", "en")


# The database's copy of `consent.notices`' checks (migration 0023).
NOTICE_PURPOSE = "purpose ~ '^(scoring|scenario:[a-z][a-z0-9_]{1,40})$'"
NOTICE_COMPLETE = ("btrim(title_zh) <> '' AND btrim(title_en) <> '' AND btrim(text_zh) <> '' "
                   "AND btrim(text_en) <> '' AND btrim(retention) <> ''")
NOTICE_RECIPIENTS = ("purpose = 'scoring' OR (requires_separate_consent AND CASE WHEN "
                     "json_typeof(recipients) = 'array' THEN json_array_length(recipients) > 0 "
                     "ELSE false END)")


def _of_its_purpose(table: str) -> ForeignKeyConstraint:
    """A consent row names a notice of its own purpose (migration 0023)."""
    return ForeignKeyConstraint(["notice_id", "purpose"],
                                ["consent_notices.id", "consent_notices.purpose"],
                                name=f"fk_{table}_notice_of_its_purpose")


class Notice(Base):
    __tablename__ = "consent_notices"
    __table_args__ = (
        UniqueConstraint("purpose", "version", name="uq_consent_notices_version"),
        UniqueConstraint("id", "purpose", name="uq_consent_notices_id_purpose"),
        CheckConstraint(NOTICE_PURPOSE, name="purpose"),
        CheckConstraint(NOTICE_COMPLETE, name="complete"),
        CheckConstraint(NOTICE_RECIPIENTS, name="scenario_recipients"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[Any]]
    separate_consent_categories: Mapped[list[Any]]
    requires_separate_consent: Mapped[bool]
    recipients: Mapped[list[Any]]
    retention: Mapped[str] = mapped_column(String(80))
    validity_days: Mapped[int | None]
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    published_at: Mapped[datetime]


class ConsentRecord(Base):
    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("status IN ('active','withdrawn','expired','invalidated')",
                        name="status"),
        CheckConstraint("(status = 'active') = (ended_at IS NULL)", name="ended_when_inactive"),
        # At most one consent in force per resident and purpose; the gate reads this index.
        Index("uq_consent_records_active", "resident_id", "purpose", unique=True,
              postgresql_where=text("status = 'active'")),
        Index("ix_consent_records_resident_given", "resident_id", "given_at"),
        _of_its_purpose("consent_records"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_notices.id"), index=True)
    categories: Mapped[list[Any]]
    separate_consent: Mapped[bool]
    status: Mapped[str] = mapped_column(String(12))
    given_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class ConsentEvent(Base):
    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint(
            "event IN ('given','renewed','withdrawn','expired','invalidated')", name="event"),
        CheckConstraint("language IN ('zh','en')", name="language"),
        Index("ix_consent_events_resident_at", "resident_id", "at"),
        _of_its_purpose("consent_events"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger(), primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True)  # the receipt id (jti)
    consent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_records.id"), index=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(12))
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_notices.id"))
    notice_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    categories: Mapped[list[Any]]
    reason: Mapped[str | None] = mapped_column(String(120))
    receipt: Mapped[str | None] = mapped_column(Text)
