"""Deposit waivers' periodic job: a default unsettled past its grace period becomes a record;
an item returned on time is credited."""

from __future__ import annotations

from core.jobs import JobContext, job
from rewards.credit.jobs import BATCH, in_batches
from rewards.credit.terms import from_config
from rewards.waivers.services import credit_returns, report_defaults


@job("deposit_waivers.records")
def records(ctx: JobContext) -> dict[str, int]:
    """Write `deposit_defaulted` records past the grace period and `deposit_returned` records
    for items returned on time, in batches, until none is due."""
    grace = from_config(ctx.settings).waiver_grace
    return {"reported": in_batches(ctx, lambda s: report_defaults(s, ctx.now, grace, BATCH)),
            "returned": in_batches(ctx, lambda s: credit_returns(s, ctx.now, BATCH))}
