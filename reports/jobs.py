"""The reports' periodic job: delete report documents some time after they end.

A report's encrypted JWS and PDF are dropped `DOCUMENT_GRACE` after it expires or is revoked
(the small metadata row stays, so a verifier is told "expired"/"revoked"); the row itself is
deleted `METADATA_KEPT` after expiry. Conditional updates and deletes: safe to run twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update

from core.db import UnitOfWork
from core.jobs import JobContext, job
from reports.models import Report
from reports.rights import DOCUMENT_GRACE, METADATA_KEPT

BATCH = 500


def purge_documents(uow: UnitOfWork, *, now: datetime, limit: int = BATCH) -> int:
    """Drop the documents of up to `limit` reports ended `DOCUMENT_GRACE` ago; commits once.
    How many were dropped."""
    cutoff = now - DOCUMENT_GRACE
    ids = list(uow.session.scalars(select(Report.id).where(
        Report.purged_at.is_(None),
        or_(Report.expires_at <= cutoff,
            and_(Report.revoked_at.is_not(None), Report.revoked_at <= cutoff)),
    ).limit(limit)))
    if ids:
        uow.session.execute(update(Report).where(Report.id.in_(ids), Report.purged_at.is_(None))
                            .values(document_ct=None, pdf_ct=None, purged_at=now))
    uow.commit()
    return len(ids)


def delete_rows(uow: UnitOfWork, *, now: datetime) -> int:
    """Delete the rows of reports past expiry by `METADATA_KEPT`; commits once."""
    result = uow.session.execute(delete(Report).where(Report.expires_at <= now - METADATA_KEPT))
    uow.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@job("reports.purge")
def purge_reports(ctx: JobContext) -> dict[str, int]:
    """Drop ended reports' documents; delete rows long past expiry. A batch: one unit of work
    (`ctx.uow`) per chunk of `BATCH` documents, then one for the rows."""
    purged = 0
    while True:
        with ctx.uow() as uow:
            dropped = purge_documents(uow, now=ctx.now)
        purged += dropped
        if dropped < BATCH:
            break
    with ctx.uow() as uow:
        rows = delete_rows(uow, now=ctx.now)
    return {"documents_deleted": purged, "rows_deleted": rows}
