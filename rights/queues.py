"""The three operator queues — disputes, credit repairs, human review — handled alike, so that
`/admin/v1` and `pengcheng disputes|repairs|reviews` list, open and decide through one place.

    from rights.queues import QUEUES
    QUEUES["repairs"].items(uow, status="all", limit=100, now=now)   # no personal detail
    QUEUES["repairs"].decide(uow, repair_id, operator=op, now=now, decision="approve", note="…")

Listing shows no personal detail; opening one item (`read`) and deciding one are written to
the resident's access log and the audit log by the use cases themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.identity import Operator
from core.records import Record
from rights import disputes, repair, reviews

READERS = ("reviewer", "admin", "auditor")
DECIDERS = ("reviewer", "admin")


@dataclass(frozen=True)
class Queue:
    """One operator queue: listed and opened by `READERS`, decided by `DECIDERS`."""

    name: str  # "disputes": the URL segment and the command group
    default_status: str  # what is listed when no status is asked for
    verb: str  # "resolve" or "decide": the URL segment and the command
    lines: Callable[[Session, str | None, int, datetime, bool | None], list[dict[str, Any]]]
    read: Callable[..., Any]  # (uow, id, *, operator, now): one item's `*Detail`, logged
    settle: Callable[..., Any]  # (uow, id, *, operator, now, **decision): the use case
    render: Callable[[Any, datetime], Any]  # the decided item as the resident sees it

    def items(self, uow: UnitOfWork, *, status: str | None, limit: int, now: datetime,
              overdue: bool | None = None) -> list[dict[str, Any]]:
        """The queue's lines, oldest first; `status` "all" lists every status. Reads only."""
        wanted = None if status == "all" else (status or self.default_status)
        return self.lines(uow.session, wanted, limit, now, overdue)

    def decide(self, uow: UnitOfWork, key: uuid.UUID, *, operator: Operator, now: datetime,
               **decision: Any) -> Any:
        """Decide one item (commits); the item as the resident now sees it (a `*View`)."""
        return self.render(self.settle(uow, key, operator=operator, now=now, **decision), now)


def _dispute_lines(session: Session, status: str | None, limit: int, now: datetime,
                   overdue: bool | None) -> list[dict[str, Any]]:
    found = disputes.queue(session, now=now, status=status, overdue=overdue, limit=limit)
    return [disputes.queue_item(d, session.get(Record, d.record_id), now) for d in found]


QUEUES: dict[str, Queue] = {q.name: q for q in (
    Queue("disputes", "open", "resolve", _dispute_lines, disputes.read, disputes.resolve,
          disputes.view),
    Queue("repairs", "pending", "decide",
          lambda session, status, limit, _now, _overdue: [
              repair.queue_item(r) for r in repair.queue(session, status=status, limit=limit)],
          repair.read, repair.decide, lambda r, _now: repair.view(r)),
    Queue("reviews", "open", "decide",
          lambda session, status, limit, _now, _overdue: [
              reviews.queue_item(r) for r in reviews.queue(session, status=status, limit=limit)],
          reviews.read, reviews.decide, lambda r, _now: reviews.view(r)),
)}
