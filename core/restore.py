"""What a restored backup must not revive: tokens and sessions issued before the restore.

    with runtime().uow() as uow:
        refused = refuse_earlier_tokens(uow, signer, now=now)

`pengcheng restore finish` (app/cli_restore.py, where the reasons are told) runs this once on
the restored database, then replays the erasure journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from core import audit
from core.audit import AuditEntry
from core.db import UnitOfWork
from core.identity import SessionToken
from core.signing import Signer


@dataclass(frozen=True)
class TokensRefused:
    """The restored database's last audit time, the token kids unpublished, the new active kid
    and how many open sessions were revoked."""

    restore_point: datetime | None
    token_kids_withdrawn: list[str]
    token_kid: str
    sessions_revoked: int


def refuse_earlier_tokens(uow: UnitOfWork, signer: Signer, *, now: datetime) -> TokensRefused:
    """Use case: unpublish every token key, revoke every open session; audited, one commit."""
    session = uow.session
    restore_point = session.scalar(select(func.max(AuditEntry.at)))
    withdrawn, active = signer.restart(session, "token", now)
    revoked = session.execute(
        update(SessionToken).where(SessionToken.revoked_at.is_(None),
                                   SessionToken.expires_at > now)
        .values(revoked_at=now).execution_options(synchronize_session=False))
    sessions = int(revoked.rowcount or 0)  # type: ignore[attr-defined]
    audit.record(session, actor="cli", action="restore.tokens_refused", now=now,
                 data={"token_kids_withdrawn": withdrawn, "token_kid": active,
                       "sessions_revoked": sessions})
    uow.commit()
    return TokensRefused(restore_point, withdrawn, active, sessions)
