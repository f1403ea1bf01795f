"""Periodic jobs of the rights package (run by `pengcheng jobs run`)."""

from __future__ import annotations

from core.jobs import JobContext, job
from rights.disputes import flag_overdue


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
