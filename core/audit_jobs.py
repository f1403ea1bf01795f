"""The audit log's periodic job (run by `pengcheng jobs run`): signed checkpoints."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core import audit
from core.jobs import JobContext, job


@job("audit.checkpoint")
def audit_checkpoint(ctx: JobContext) -> dict[str, int]:
    """Sign the head of the audit chain, at most every AUDIT_CHECKPOINT_MINUTES."""
    config = ctx.services.get("config") or {}
    every = timedelta(minutes=float(config.get("AUDIT_CHECKPOINT_MINUTES", 60)))
    with ctx.uow() as uow:
        last = uow.session.scalar(select(func.max(audit.AuditCheckpoint.at)))
        if last is not None and ctx.now - last < every:
            return {"checkpoints": 0}
        made = audit.checkpoint(uow.session, ctx.services["signer"], ctx.now)
        uow.commit()
    return {"checkpoints": int(made is not None)}
