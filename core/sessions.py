"""Resident sessions: opaque random tokens, stored hashed (`SessionToken`), with an expiry and
a revocation. A first login creates the resident (`core.identity.create_resident`).

    login(uow, keyring, claims, now=…, ttl=…, channel="idp") -> OpenedSession   # a use case
    resident_for_session(session, token, now) -> Resident                      # a helper
    session_lookup(*columns), live(...)   # the same lookup inside a larger statement
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import Keyring
from core.db import UnitOfWork
from core.errors import Unauthorized
from core.identity import (
    Person,
    Resident,
    SessionToken,
    create_resident,
    find_resident,
    hash_key,
    reopen_resident,
)

SESSION_PREFIX = "rs_"


def open_session(session: Session, resident: Resident, *, now: datetime, ttl: timedelta,
                 channel: str) -> tuple[str, datetime]:
    """A new session token for the resident (returned, shown once) and its expiry."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires = now + ttl
    session.add(SessionToken(token_hash=hash_key(token), resident_id=resident.id,
                             created_at=now, expires_at=expires, channel=channel))
    session.flush()
    return token, expires


def session_lookup(*columns: Any) -> Select[Any]:
    """The lookup every resident request starts from: the session token whose hash is bound
    as `h`, joined to its resident, selecting `columns` and then what `live` reads (its
    `expires_at`, `revoked_at` and the resident's `status`). A statement that reads more in
    the same round trip (the score read, `scoring.read`) is built on it."""
    return (select(*columns, SessionToken.expires_at, SessionToken.revoked_at,
                   Resident.status.label("resident_status"))
            .join_from(SessionToken, Resident, SessionToken.resident_id == Resident.id)
            .where(SessionToken.token_hash == bindparam("h")))


def live(expires_at: datetime, revoked_at: datetime | None, resident_status: str,
         now: datetime) -> bool:
    """Whether a session found by `session_lookup` authorizes a request `now`: not revoked,
    not expired, and its resident active."""
    return revoked_at is None and now < expires_at and resident_status == "active"


_SESSION_RESIDENT = session_lookup(Resident)


def resident_for_session(session: Session, token: str, now: datetime) -> Resident:
    """The active resident of a live session token; Unauthorized otherwise."""
    row = session.execute(_SESSION_RESIDENT, {"h": hash_key(token)}).first()
    if row is None or not live(row.expires_at, row.revoked_at, row.resident_status, now):
        raise Unauthorized("session token is missing, expired or revoked",
                           detail_zh="登录已失效，请重新登录")
    resident: Resident = row.Resident
    return resident


def close_session(session: Session, token: str, now: datetime) -> None:
    """Revoke a session token (nothing happens if it is unknown or already revoked)."""
    row = session.get(SessionToken, hash_key(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


@dataclass(frozen=True)
class OpenedSession:
    """A resident's new session: the bearer token (shown once) and when it expires."""

    token: str
    expires_at: datetime
    resident_id: uuid.UUID


def login(uow: UnitOfWork, keyring: Keyring, claims: dict[str, Any], *, now: datetime,
          ttl: timedelta, channel: str) -> OpenedSession:
    """Exchange verified identity claims for a session; the first login creates the resident,
    and a login to an erased account that retains records or debts reopens it."""
    session = uow.session
    resident = find_resident(session, keyring, claims["id_number"])
    person = Person(claims["name"].strip(), claims["id_number"], claims.get("phone_number"))
    if resident is not None and resident.status == "erased":  # re-attached to what it retained
        resident = reopen_resident(session, keyring, resident, person, now=now)
    if resident is None:
        resident = create_resident(session, keyring, person, now=now)
    token, expires = open_session(session, resident, now=now, ttl=ttl, channel=channel)
    audit.record(session, actor=f"resident:{resident.id}", action="session.opened", now=now,
                 subject=str(resident.id), data={"channel": channel})
    uow.commit()
    return OpenedSession(token, expires, resident.id)


def logout(uow: UnitOfWork, token: str, now: datetime) -> None:
    """Revoke a session token (the caller has already authenticated with it)."""
    close_session(uow.session, token, now)
    uow.commit()
