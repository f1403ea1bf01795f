"""Consent's periodic job: record `expired` for consents past their validity."""

from __future__ import annotations

from consent.services import expire_due
from core.jobs import JobContext, job


@job("consents.expire")
def expire_consents(ctx: JobContext) -> dict[str, int]:
    """Expire due consents in batches of 500 until none is left: one unit of work (and one
    commit, `expire_due`) per batch, so a long run holds no lock for long."""
    total = 0
    while True:
        with ctx.uow() as uow:
            count = expire_due(uow, ctx.now, limit=500)
        total += count
        if count < 500:
            return {"expired": total}
