"""The audit log's periodic job (run by `pengcheng jobs run`): signed checkpoints, and how
old the newest may be before `pengcheng audit verify` fails (the job's interval plus a margin
for the scheduler's period and a slow run)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from core import audit
from core.jobs import JobContext, job


def interval(config: Mapping[str, Any]) -> timedelta:
    """How often the job signs the chain (AUDIT_CHECKPOINT_MINUTES)."""
    return timedelta(minutes=float(config.get("AUDIT_CHECKPOINT_MINUTES", 60)))


def max_age(config: Mapping[str, Any]) -> timedelta:
    """The oldest the newest checkpoint may be for verify to pass without an exported file:
    AUDIT_CHECKPOINT_MINUTES + AUDIT_CHECKPOINT_MARGIN_MINUTES."""
    margin = timedelta(minutes=float(config.get("AUDIT_CHECKPOINT_MARGIN_MINUTES", 30)))
    return interval(config) + margin


@job("audit.checkpoint")
def audit_checkpoint(ctx: JobContext) -> dict[str, int]:
    """Sign the audit chain every AUDIT_CHECKPOINT_MINUTES (also when nothing was appended)."""
    config = ctx.settings
    with ctx.uow() as uow:
        last = uow.session.scalar(select(func.max(audit.AuditCheckpoint.at)))
        if last is not None and ctx.now - last < interval(config):
            return {"checkpoints": 0}
        if ctx.signer is None:
            raise RuntimeError("the audit.checkpoint job needs the signer (JobContext.signer)")
        audit.checkpoint(uow.session, ctx.signer, ctx.now)
        uow.commit()
    return {"checkpoints": 1}
