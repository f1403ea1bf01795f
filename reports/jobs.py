"""The reports' periodic job: delete report documents some time after they end.

A report's encrypted JWS and PDF are dropped `DOCUMENT_GRACE` after it expires or is revoked
(the small metadata row stays, so a verifier is told "expired"/"revoked"); the row itself is
deleted `METADATA_KEPT` after expiry. Conditional updates and deletes: safe to run twice.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, select, update

from core.jobs import JobContext, job
from reports.models import Report
from reports.rights import DOCUMENT_GRACE, METADATA_KEPT

BATCH = 500


@job("reports.purge")
def purge_reports(ctx: JobContext) -> dict[str, int]:
    """Drop ended reports' documents; delete rows long past expiry."""
    cutoff = ctx.now - DOCUMENT_GRACE
    purged = 0
    while True:
        with ctx.uow() as uow:
            ids = list(uow.session.scalars(select(Report.id).where(
                Report.purged_at.is_(None),
                or_(Report.expires_at <= cutoff,
                    and_(Report.revoked_at.is_not(None), Report.revoked_at <= cutoff)),
            ).limit(BATCH)))
            if ids:
                uow.session.execute(update(Report).where(Report.id.in_(ids),
                                                         Report.purged_at.is_(None))
                                    .values(document_ct=None, pdf_ct=None, purged_at=ctx.now))
                uow.commit()
        purged += len(ids)
        if len(ids) < BATCH:
            break
    with ctx.uow() as uow:
        result = uow.session.execute(delete(Report).where(
            Report.expires_at <= ctx.now - METADATA_KEPT))
        uow.commit()
    return {"documents_deleted": purged,
            "rows_deleted": int(result.rowcount or 0)}  # type: ignore[attr-defined]
