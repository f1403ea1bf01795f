"""The `reports` table: one row per credit report or no-violation certificate issued.

Design overview
---------------
* The verification code is a bearer secret (≥128 bits); only its SHA-256 is stored
  (`code_hash`, unique), so a copy of the table does not let anyone verify or read reports.
* The signed document (compact JWS over the canonical JSON, which holds the code) and the PDF
  are encrypted under the resident's own data key: erasing the resident (destroying the key)
  makes every report of theirs unreadable, and verification then answers "not genuine".
* `pdf_sha256` (unique) identifies an uploaded PDF byte for byte: one changed byte, no match.
* Revocation and expiry are columns, checked on every verification; a purge job drops the
  encrypted documents some time after a report ends and keeps the small metadata row, so a
  verifier is still told "expired" or "revoked" rather than "unknown".
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

KINDS = ("credit_report", "no_violation")


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("kind IN ('credit_report','no_violation')", name="kind"),
        CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
        Index("ix_reports_resident_issued", "resident_id", "issued_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    kind: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sections: Mapped[list[Any]]
    options: Mapped[dict[str, Any]]  # categories, period, lang: what the resident chose
    kid: Mapped[str] = mapped_column(String(40))
    document_ct: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted JWS
    pdf_ct: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted PDF (base64 text)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
