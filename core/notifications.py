"""Notifications a resident reads in the mini-program: bill reminders, dispute outcomes, …

Any domain package adds one with `notify()` in its own transaction. A `dedupe_key` makes a
notification idempotent (a job that runs twice reminds once). Text is stored in zh and en and
never carries a score, an ID number or a name. The resident reads them with `inbox()` and
marks them read with the use case `mark_read(uow, …)`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, String, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UnitOfWork

MAX_PAGE = 200


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_resident_created", "resident_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(String(1000))
    body_en: Mapped[str] = mapped_column(String(1000))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


def notify(session: Session, *, resident_id: uuid.UUID, kind: str, dedupe_key: str,
           title: tuple[str, str], body: tuple[str, str], now: datetime,
           data: dict[str, Any] | None = None) -> bool:
    """Add a notification unless one with `dedupe_key` exists; True when added.

    `title` and `body` are `(zh, en)`. Runs in the caller's transaction (a savepoint guards the
    unique key, so a concurrent duplicate does not abort the caller's work).
    """
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return False
    try:
        with session.begin_nested():
            session.add(Notification(
                id=uuid.uuid4(), resident_id=resident_id, kind=kind, dedupe_key=dedupe_key,
                title_zh=title[0], title_en=title[1], body_zh=body[0], body_en=body[1],
                data=data or {}, created_at=now, read_at=None))
    except IntegrityError:
        return False
    return True


def for_resident(session: Session, resident_id: uuid.UUID, *, limit: int = 50,
                 unread_only: bool = False) -> list[Notification]:
    """The resident's notifications, newest first."""
    stmt = select(Notification).where(Notification.resident_id == resident_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id)
    return list(session.scalars(stmt.limit(min(limit, MAX_PAGE))))


@dataclass(frozen=True)
class Inbox:
    """A page of the resident's notifications and how many are unread (at most `MAX_PAGE`)."""

    items: list[Notification]
    unread: int


def inbox(session: Session, resident_id: uuid.UUID, *, limit: int = 50,
          unread_only: bool = False) -> Inbox:
    """The resident's notifications, newest first, with the unread count."""
    unread = session.scalar(select(func.count()).select_from(
        select(Notification.id).where(Notification.resident_id == resident_id,
                                      Notification.read_at.is_(None))
        .limit(MAX_PAGE).subquery()))
    return Inbox(for_resident(session, resident_id, limit=limit, unread_only=unread_only),
                 int(unread or 0))


def mark_read(uow: UnitOfWork, resident_id: uuid.UUID, ids: list[uuid.UUID],
              now: datetime) -> int:
    """Mark the resident's own notifications read (others' ids are ignored); how many."""
    result = cast(CursorResult[Any], uow.session.execute(update(Notification).where(
        Notification.resident_id == resident_id, Notification.id.in_(ids),
        Notification.read_at.is_(None)).values(read_at=now)))
    uow.commit()
    return int(result.rowcount or 0)
