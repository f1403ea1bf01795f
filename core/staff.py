"""Counter staff: a partner's own people signing in to the counter page (issue 20, item 4).

Tables
------
* `partner_staff`: one row per staff account of a partner: a username unique within the
  partner, a display name, a password hash (never the password), active until removed.
* `staff_sessions`: a signed-in staff member's short-lived session (only the token's SHA-256
  is stored), scoped to the staff member's partner and its scenarios.

Holds, captures and voids record the staff member who made them (`credit_holds.staff_id`,
`credit_holds.voided_by`, `credit_bills.staff_id`); the resident's access log names the
partner, never the person.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class PartnerStaff(Base):
    __tablename__ = "partner_staff"
    __table_args__ = (UniqueConstraint("partner_id", "username",
                                       name="uq_partner_staff_partner_username"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    username: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_staff.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
