"""Tokens' periodic job: the rows of expired tokens (their codes, limits and JWS) are deleted.

A code is refused once its token expires (`rewards.tokens`), so its row serves nothing after
that; deleting it keeps the resident's limits no longer than needed and frees the code.
`KEEP` past expiry covers clocks a little apart between the app instances and the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.jobs import JobContext, job
from rewards.credit.jobs import BATCH, in_batches

KEEP = timedelta(hours=1)

_FORGET = text(
    "DELETE FROM issued_tokens WHERE jti IN (SELECT jti FROM issued_tokens"
    " WHERE expires_at < :before ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED)")


def forget(session: Session, before: datetime, limit: int) -> int:
    """Delete up to `limit` rows of tokens that expired before `before`; how many."""
    deleted = session.execute(_FORGET, {"before": before, "limit": limit})
    return int(deleted.rowcount)  # type: ignore[attr-defined]


@job("tokens.forget_expired")
def forget_expired(ctx: JobContext) -> dict[str, int]:
    """Delete the rows of tokens expired more than `KEEP` ago, in batches."""
    return {"deleted": in_batches(ctx, lambda s: forget(s, ctx.now - KEEP, BATCH))}
