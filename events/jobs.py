"""The periodic job of the events package: forget old events and finished queue jobs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from core.jobs import JobContext, job

KEEP = timedelta(days=90)  # the delivery log partners and operators can read back

_OLD_EVENTS = text("""
SELECT e.id FROM events e
 WHERE e.occurred_at < :cutoff
   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                    WHERE d.event_id = e.id AND d.status = 'pending')
 ORDER BY e.seq LIMIT 500
""")


@job("events.retention")
def retention(ctx: JobContext) -> dict[str, int]:
    """Delete events older than 90 days (none with a delivery still pending), with their
    deliveries and attempts, and queue jobs that finished before then. A batch: one unit of
    work per 500 events."""
    cutoff = ctx.now - KEEP
    total = 0
    while True:
        with ctx.uow() as uow:
            ids = list(uow.session.scalars(_OLD_EVENTS, {"cutoff": cutoff}))
            if ids:
                params = {"ids": ids}
                uow.session.execute(text(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM "
                    "webhook_deliveries WHERE event_id = ANY(:ids))"), params)
                uow.session.execute(text(
                    "DELETE FROM webhook_deliveries WHERE event_id = ANY(:ids)"), params)
                uow.session.execute(text("DELETE FROM events WHERE id = ANY(:ids)"), params)
            uow.commit()
        total += len(ids)
        if len(ids) < 500:
            break
    with ctx.uow() as uow:
        jobs = uow.session.scalar(text(
            "WITH gone AS (DELETE FROM procrastinate_jobs j WHERE j.status IN "
            "('succeeded', 'failed', 'cancelled', 'aborted') AND NOT EXISTS ("
            "SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.at >= :cutoff) "
            "RETURNING 1) SELECT count(*) FROM gone"), {"cutoff": cutoff})
        uow.commit()
    return {"events": total, "queue_jobs": int(jobs or 0)}
