"""Tables of the rewards package.

* `scenario_settings`: operator changes to the catalogue (the file is the default; a row
  replaces its scenario as a whole, with a version that counts changes).
* `partner_pseudonyms`: pairwise pseudonym -> resident, kept for settlement. The pseudonym is
  an HMAC, so the table is the only way back to the resident and it never leaves the service.
* `consumed_tokens`: one row per consumed `jti`. The primary key is the single-use guarantee
  (nothing else is asked: no fast-store mark).
* `token_uses`: one row per use of a token through `POST /partner/v1/tokens/consume` (the
  scenarios with no hold, waiver or redemption): the partner's `out_use_no`, the `jti`, when.
  Written by `pc_use_token` (rewards/sql/tokens.sql, migration 0022).
* `issued_tokens`: one row per token issued (issue 20): its `jti`, its short one-time `code`
  (18 digits, unique while the token lives), the partner and resident, and the resident's
  limits in the scenario when it was issued (`limits`: the tier's, never disclosed to the
  partner — the service enforces them at the moment of use). The JWS itself is kept so that a
  partner presenting the code can be given the signed token for its records. Rows past their
  expiry are deleted by the `tokens.expired` job.
* `access_log`: who looked at a resident's entitlement, when and what they learned (查询记录).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class ScenarioSetting(Base):
    __tablename__ = "scenario_settings"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    spec: Mapped[dict[str, Any]]
    version: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80))


class PartnerPseudonym(Base):
    __tablename__ = "partner_pseudonyms"
    __table_args__ = (
        UniqueConstraint("partner_id", "resident_id", name="uq_partner_pseudonyms_pair"),
    )

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    created_at: Mapped[datetime]


class ConsumedToken(Base):
    __tablename__ = "consumed_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(40))
    consumed_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class TokenUse(Base):
    __tablename__ = "token_uses"
    __table_args__ = (
        UniqueConstraint("partner_id", "out_use_no", name="uq_token_uses_partner_out_use_no"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    out_use_no: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(40))
    used_at: Mapped[datetime]


class IssuedToken(Base):
    __tablename__ = "issued_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(40))
    limits: Mapped[dict[str, Any]]
    token: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AccessEntry(Base):
    __tablename__ = "access_log"
    __table_args__ = (
        CheckConstraint("actor_kind IN ('partner','operator','system','public')",
                        name="actor_kind"),
        Index("ix_access_log_resident_at", "resident_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    scenario: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    learned: Mapped[dict[str, Any]]
