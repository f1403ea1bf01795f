"""What the reports package contributes to a resident's data export and erasure answer.

Same contract as every package's `rights` module: `export_section` returns JSON-ready data,
`retention` lists what is kept after an erasure request and why (zh and en).
The export lists the reports issued and how often each was verified; the report contents are
derived from the score and records the export already holds, and are not repeated.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.idempotency import iso
from reports.models import Report
from rewards.models import AccessEntry

# Documents are deleted this long after a report expires or is revoked (reports/jobs.py);
# the metadata row stays so a late verifier is told "expired"/"revoked", not "unknown".
DOCUMENT_GRACE = timedelta(days=30)
METADATA_KEPT = timedelta(days=365)  # after expiry; then the row is deleted (reports/jobs.py)
VERIFY_ACTION = "report_verify"


def status(report: Report, now: datetime) -> str:
    """active, expired or revoked."""
    if report.revoked_at is not None:
        return "revoked"
    return "expired" if report.expires_at <= now else "active"


def export_section(session: Session, resident_id: uuid.UUID) -> dict[str, Any]:
    """The resident's reports: kind, sections chosen, dates, status and verification count."""
    rows = list(session.scalars(select(Report).where(Report.resident_id == resident_id)
                                .order_by(Report.issued_at, Report.id)))
    counts = Counter(str(learned.get("report_id")) for learned in session.scalars(
        select(AccessEntry.learned).where(AccessEntry.resident_id == resident_id,
                                          AccessEntry.action == VERIFY_ACTION)))
    return {"reports": [{
        "report_id": str(r.id), "kind": r.kind, "sections": list(r.sections),
        "options": dict(r.options), "issued_at": iso(r.issued_at),
        "expires_at": iso(r.expires_at), "revoked_at": iso(r.revoked_at),
        "document_deleted_at": iso(r.purged_at),
        "verifications": counts.get(str(r.id), 0),
    } for r in rows]}


def retention(session: Session, resident_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """After erasure: the small metadata rows of reports not yet past their keeping period."""
    ends = [r.expires_at for r in session.scalars(
        select(Report).where(Report.resident_id == resident_id))]
    if not ends:
        return []
    until = max(max(ends), now) + METADATA_KEPT
    return [{
        "what": f"{len(ends)} report verification entries (type, issue and expiry dates, "
                f"revocation, hash of the verification code)",
        "until": iso(until),
        "why_zh": "报告内容随您的数据密钥一并销毁、无法再读取；仅保留出具及到期日期和核验码摘要，"
                  "以便持有您所交付报告的单位核验时得到“报告已不可用”的答复，而非误判为伪造。",
        "why_en": "The report contents are destroyed with your data key and can no longer be "
                  "read; only the dates and a hash of each verification code are kept, so "
                  "that someone you gave a report to is told it is no longer available rather "
                  "than that it was forged.",
    }]
