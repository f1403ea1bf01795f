"""Periodic jobs of the rights package (run by `pengcheng jobs run`)."""

from __future__ import annotations

from core.jobs import JobContext, job
from rights.disputes import flag_overdue
from rights.erasure import lapse


@job("disputes.overdue")
def disputes_overdue(ctx: JobContext) -> dict[str, int]:
    """Flag open disputes past their deadline once (the resident is told; audited). A batch:
    one unit of work (`ctx.uow`) per chunk of 500."""
    total = 0
    while True:
        with ctx.uow() as uow:
            flagged = flag_overdue(uow, ctx.now, limit=500)
        total += flagged
        if flagged < 500:
            return {"flagged": total}


@job("erasure.retention")
def erasure_retention(ctx: JobContext) -> dict[str, int]:
    """End what erased accounts retain once its period is over (`rights.erasure.lapse`). A
    batch: one unit of work (`ctx.uow`) per chunk of 500 accounts."""
    totals = {"accounts": 0, "records_ended": 0, "unlinked": 0}
    after = None
    while True:
        with ctx.uow() as uow:
            counts, after = lapse(uow, ctx.now, after=after, limit=500)
        totals = {k: totals[k] + counts[k] for k in totals}
        if after is None:
            return totals
