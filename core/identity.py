"""Identities: residents (encrypted at rest), partners, data sources, operators, sessions.

Design overview
---------------
* A resident's name, ID number and phone are encrypted under the resident's own data key with
  the row id and column as associated data; `id_index` is the keyed blind index used for
  lookups. Destroying the data key erases the person (crypto-shredding). An erased account
  that retains what the law requires (public negative records, debts: `rights.erasure`) keeps
  its blind index, so the same person signing in again is re-attached to it
  (`reopen_resident`); otherwise the index is replaced by a tombstone.
* Partners, data sources and operators authenticate with API keys of 256 random bits. Only the
  SHA-256 of a key is stored (a slow hash adds nothing at that entropy) and the key is shown
  once, at creation or rotation. A principal holds one key: rotating replaces it, so the old key
  stops working at once; `active = false` refuses the principal whatever its key. Both changes
  are audited (`partner.key_rotated`, `source.deactivated`, …). Callers that cache principals
  (`app/auth.py`) see them within their cache lifetime.
* Resident sessions are opaque random tokens, stored hashed, with an expiry and a revocation
  (`SessionToken` here; signing in and out in `core.sessions`).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    bindparam,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.crypto import Keyring
from core.db import Base
from core.errors import InvalidInput, NotFound
from core.idnumber import birth_date, is_valid, mask, normalize

PARTNER_KINDS = ("hospital", "deposit_partner", "merchant", "payment_channel")
OPERATOR_ROLES = ("admin", "reviewer", "auditor")


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (
        CheckConstraint("status IN ('active','erased')", name="status"),
        # An active account is always found by its blind index; an erased one keeps it only
        # while it retains what the law requires (rights.erasure), else a tombstone.
        CheckConstraint("status = 'erased' OR id_index NOT LIKE 'erased:%'",
                        name="active_indexed"),
        Index("ix_residents_erased", "id", postgresql_where=text("status = 'erased'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id_index: Mapped[str] = mapped_column(String(64), unique=True)
    data_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_keys.id"))
    name_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    birth_year: Mapped[int | None]  # coarse, for age-band validation only
    district: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | erased
    created_at: Mapped[datetime]
    score_stale_at: Mapped[datetime | None]
    # Bumped by everything a score depends on (records, consents, disputes, repairs); a stored
    # score is current only while it was computed from this exact version.
    score_version: Mapped[int] = mapped_column(default=0)


@event.listens_for(Resident.score_stale_at, "set", propagate=True)
def _bump_score_version(target: Resident, value: Any, old: Any, _initiator: Any) -> None:
    target.score_version = (target.score_version or 0) + 1


def _aad(resident_id: uuid.UUID, column: str) -> str:
    return f"residents:{column}:{resident_id}"


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str | None


def set_personal(session: Session, keyring: Keyring, resident: Resident, person: Person) -> None:
    """Encrypt the resident's personal fields under their data key."""
    for column, value in (("name", person.name), ("id_number", person.id_number),
                          ("phone", person.phone)):
        blob = None if value is None else keyring.encrypt(
            session, resident.data_key_id, value, _aad(resident.id, column))
        setattr(resident, f"{column}_ct", blob)


def read_personal(session: Session, keyring: Keyring, resident: Resident) -> Person:
    """Decrypt the resident's personal fields."""
    def dec(column: str) -> str | None:
        blob = getattr(resident, f"{column}_ct")
        return None if blob is None else keyring.decrypt(session, blob, _aad(resident.id, column))

    return Person(name=dec("name") or "", id_number=dec("id_number") or "", phone=dec("phone"))


@dataclass(frozen=True)
class Profile:
    """What a resident sees of themselves: ID number and phone masked."""

    id: uuid.UUID
    name: str
    id_number_masked: str
    phone_masked: str | None
    created_at: datetime


def profile(session: Session, keyring: Keyring, resident: Resident) -> Profile:
    """What the resident sees of themselves: ID number and phone masked."""
    person = read_personal(session, keyring, resident)
    phone = person.phone[:3] + "****" + person.phone[-4:] if person.phone else None
    return Profile(resident.id, person.name, mask(person.id_number), phone, resident.created_at)


def find_resident(session: Session, keyring: Keyring, id_number: str) -> Resident | None:
    """The resident with this ID number (by its blind index), or None."""
    index = keyring.blind_index(normalize(id_number))
    return session.scalars(select(Resident).where(Resident.id_index == index)).first()


def create_resident(
    session: Session, keyring: Keyring, person: Person, *, now: datetime,
    district: str | None = None,
) -> Resident:
    """A new resident with their own data key; pending records under the blind index join."""
    if not is_valid(person.id_number):
        raise InvalidInput("id_number is not a valid 18-digit ID number",
                           detail_zh="身份证号码无效")
    id_number = normalize(person.id_number)
    resident_id = uuid.uuid4()
    key = keyring.new_data_key(session, now, owner=str(resident_id))
    session.flush()
    resident = Resident(
        id=resident_id, id_index=keyring.blind_index(id_number), data_key_id=key.id,
        birth_year=birth_date(id_number).year, district=district, created_at=now,
        score_stale_at=now,
    )
    set_personal(session, keyring, resident,
                 Person(person.name, id_number, person.phone))
    session.add(resident)
    session.flush()
    from core.records import claim_pending  # records belong to the resident from now on

    claim_pending(session, resident)
    audit.record(session, actor="system", action="resident.created", now=now,
                 subject=str(resident.id))
    return resident


def reopen_resident(session: Session, keyring: Keyring, resident: Resident, person: Person, *,
                    now: datetime) -> Resident | None:
    """Re-attach a person signing in again to their erased account, found by the blind index
    of their ID number (kept while the account retains what the law requires: public negative
    records, unpaid bills, open waivers). The account opens again under a new data key with
    the person's fields; records re-sent while it was erased join; nothing erased returns.

    The row is locked first: an account another sign-in reopened meanwhile is returned as it
    is; one whose retention ended meanwhile (blind index tombstoned) answers None — the person
    gets a new account."""
    id_number = normalize(person.id_number)
    session.refresh(resident, with_for_update=True)
    if resident.id_index != keyring.blind_index(id_number):
        return None
    if resident.status != "erased":
        return resident
    key = keyring.new_data_key(session, now, owner=str(resident.id))
    session.flush()
    resident.data_key_id = key.id
    set_personal(session, keyring, resident, Person(person.name, id_number, person.phone))
    resident.status = "active"
    resident.birth_year = birth_date(id_number).year
    resident.score_stale_at = now
    session.flush()
    from core.records import claim_pending

    claimed = claim_pending(session, resident)
    audit.record(session, actor="system", action="resident.reattached", now=now,
                 subject=str(resident.id), data={"records_claimed": claimed})
    return resident


# -- API-key principals -------------------------------------------------------------------------

def hash_key(api_key: str) -> str:
    """What is stored of an API key or session token: its SHA-256, hex."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key(prefix: str) -> str:
    """A new API key of 256 random bits, with its kind prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class _KeyHolder:
    """The columns every API-key principal has (partners, data sources, operators)."""

    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Partner(_KeyHolder, Base):
    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint("kind IN ('hospital','deposit_partner','merchant','payment_channel')",
                        name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    scenarios: Mapped[list[Any]]


class DataSource(_KeyHolder, Base):
    __tablename__ = "data_sources"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    categories: Mapped[list[Any]]


class Operator(_KeyHolder, Base):
    __tablename__ = "operators"
    __table_args__ = (CheckConstraint("role IN ('admin','reviewer','auditor')", name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(12))


class SessionToken(Base):
    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    channel: Mapped[str] = mapped_column(String(20))  # idp | demo


Principal = TypeVar("Principal", Partner, DataSource, Operator)

# What each kind of principal is called in audit actions, its key prefix and client-id prefix.
_NAMING: dict[type[Base], tuple[str, str, str]] = {
    Partner: ("partner", "pk", "ptn"), DataSource: ("source", "sk", "src"),
    Operator: ("operator", "ok", "op")}


def _created(session: Session, model: type[Principal], *, name: str, now: datetime, actor: str,
             audited: dict[str, Any], **columns: Any) -> tuple[Principal, str]:
    """A new principal of `model` with a fresh client id and API key (returned, shown once)."""
    noun, key_prefix, id_prefix = _NAMING[model]
    api_key = new_api_key(key_prefix)
    found = model(id=uuid.uuid4(), client_id=f"{id_prefix}_{secrets.token_hex(8)}",
                  name=name.strip(), api_key_hash=hash_key(api_key), created_at=now, **columns)
    session.add(found)
    session.flush()
    audit.record(session, actor=actor, action=f"{noun}.created", now=now,
                 subject=found.client_id, data=audited)
    return found, api_key


def create_partner(session: Session, *, name: str, kind: str, scenarios: list[str],
                   now: datetime, actor: str = "cli") -> tuple[Partner, str]:
    """Register a partner; returns it and its API key (shown once)."""
    if kind not in PARTNER_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(PARTNER_KINDS)}")
    if not name.strip():
        raise InvalidInput("name must not be empty")
    chosen = sorted(set(scenarios))
    return _created(session, Partner, name=name, now=now, actor=actor,
                    audited={"kind": kind, "scenarios": chosen}, kind=kind, scenarios=chosen)


def create_source(session: Session, *, name: str, categories: list[str], now: datetime,
                  actor: str = "cli") -> tuple[DataSource, str]:
    """Register a data source for `categories`; returns it and its API key (shown once)."""
    from core.registry import CATEGORIES

    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown or not categories:
        raise InvalidInput(f"unknown or missing categories: {', '.join(unknown) or '(none)'}")
    if not name.strip():
        raise InvalidInput("name must not be empty")
    chosen = sorted(set(categories))
    return _created(session, DataSource, name=name, now=now, actor=actor,
                    audited={"categories": chosen}, categories=chosen)


def create_operator(session: Session, *, name: str, role: str, now: datetime,
                    actor: str = "cli") -> tuple[Operator, str]:
    """Register an operator with `role`; returns it and its API key (shown once)."""
    if role not in OPERATOR_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(OPERATOR_ROLES)}")
    return _created(session, Operator, name=name, now=now, actor=actor, audited={"role": role},
                    role=role)


def principals(session: Session, model: type[Principal]) -> list[Principal]:
    """Every partner, source or operator (`model`), oldest first."""
    return list(session.scalars(select(model).order_by(model.created_at, model.client_id)))


def principal(session: Session, model: type[Principal], client_id: str) -> Principal:
    """The partner, source or operator with `client_id`, active or not; NotFound otherwise."""
    found = session.scalars(select(model).where(model.client_id == client_id)).first()
    if found is None:
        raise NotFound(f"no {_NAMING[model][0]} with client_id {client_id}")
    return found


def rotate_key(session: Session, model: type[Principal], client_id: str, *, now: datetime,
               actor: str = "cli") -> tuple[Principal, str]:
    """Give the principal a new API key (returned, shown once); the old key stops working."""
    noun, prefix, _ = _NAMING[model]
    found = principal(session, model, client_id)
    api_key = new_api_key(prefix)
    found.api_key_hash = hash_key(api_key)
    session.flush()
    audit.record(session, actor=actor, action=f"{noun}.key_rotated", now=now, subject=client_id,
                 data={"active": found.active})
    return found, api_key


def set_active(session: Session, model: type[Principal], client_id: str, active: bool, *,
               now: datetime, actor: str = "cli") -> tuple[Principal, bool]:
    """Deactivate or reactivate the principal; returns it and whether anything changed.

    Asking for the state it is already in changes nothing and writes no audit entry.
    """
    noun = _NAMING[model][0]
    found = principal(session, model, client_id)
    if found.active == active:
        return found, False
    found.active = active
    session.flush()
    audit.record(session, actor=actor, now=now, subject=client_id, data={"active": active},
                 action=f"{noun}.{'reactivated' if active else 'deactivated'}")
    return found, True


_BY_KEY: dict[type[Base], Any] = {}


def by_api_key(session: Session, model: type[Principal], api_key: str) -> Principal | None:
    """The active principal of `model` holding `api_key`, or None."""
    stmt = _BY_KEY.get(model)
    if stmt is None:  # built once per model: cheaper than building it per request
        stmt = _BY_KEY[model] = select(model).where(model.api_key_hash == bindparam("h"))
    found: Principal | None = session.scalars(stmt, {"h": hash_key(api_key)}).first()
    return found if found is not None and found.active else None
