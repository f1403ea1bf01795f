"""Counter staff: a partner's own people signing in to the counter page (issue 20, item 4).

Design overview
---------------
* `partner_staff`: one row per staff account of a partner: a username unique within the
  partner, a display name, a password hash (never the password), active until removed. A
  removed account keeps its row (holds, captures and voids name it), so its username is not
  given again within the partner.
* Passwords are hashed with scrypt at OWASP's cost (N=2^15, r=8, p=3; 32 MiB), with a random
  salt; the parameters are stored with the hash, so raising them later leaves old hashes
  verifiable. An unknown username costs the same hash as a wrong password.
* `staff_sessions`: a signed-in staff member's session: an opaque random token (only its
  SHA-256 is stored), 8 hours, revocable by signing out. It is valid only while the staff
  member and the partner are both active: every request reads the three rows in one query (no
  cache), so removing a staff member (which also revokes their sessions) or deactivating the
  partner stops their sessions at once.
* A staff session acts for its partner in the counter's calls only (`app/auth.py` decides which
  endpoints accept one); it cannot manage staff, webhooks or keys.
* Holds, captures and voids record the staff member who made them (`credit_holds.staff_id`,
  `credit_holds.voided_by`, `credit_bills.staff_id`); the resident's access log names the
  partner, never the person. Audit entries name staff by id, never by username.

    member = add(uow, partner, username=…, name=…, password=…, now=…, actor=…)
    opened = sign_in(uow, client_id=…, username=…, password=…, now=…)
    partner, member = for_session(session, token, now)          # every counter request
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import ForeignKey, String, UniqueConstraint, bindparam, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UnitOfWork
from core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from core.identity import Partner, hash_key

SESSION_PREFIX = "ss_"
SESSION_TTL = timedelta(hours=8)
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")
PASSWORD_MIN, PASSWORD_MAX = 10, 128
NAME_MAX = 100

# scrypt's cost (OWASP Password Storage Cheat Sheet: N=2^15, r=8, p=3 is one of its equivalents).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 3
SCRYPT_MAXMEM = 64 * 1024 * 1024
DIGEST_BYTES = 32


class PartnerStaff(Base):
    __tablename__ = "partner_staff"
    __table_args__ = (UniqueConstraint("partner_id", "username",
                                       name="uq_partner_staff_partner_username"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    username: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_staff.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class StaffExists(Conflict):
    code, title = "staff_exists", "This username is already taken at this partner"


class StaffNotFound(NotFound):
    code, title = "staff_not_found", "No such staff member at this partner"


class StaffInvalid(InvalidInput):
    code, title = "staff_invalid", "The staff account's fields are not valid"


@dataclass(frozen=True)
class Member:
    """A staff account as its partner sees it (never the password or its hash)."""

    staff_id: uuid.UUID
    username: str
    name: str
    active: bool
    created_at: datetime
    removed_at: datetime | None

    @classmethod
    def of(cls, row: PartnerStaff) -> Member:
        return cls(row.id, row.username, row.name, row.active, row.created_at, row.removed_at)


# -- passwords ----------------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` (base64) of `password` under a new random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=SCRYPT_MAXMEM, dklen=DIGEST_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def password_matches(stored: str, password: str) -> bool:
    """Whether `password` is the one `stored` (from `hash_password`) was made from."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest, validate=True)
        if scheme != "scrypt" or len(expected) != DIGEST_BYTES:  # a prefix would match a prefix
            return False
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt, validate=True),
                                n=int(n), r=int(r), p=int(p), maxmem=SCRYPT_MAXMEM,
                                dklen=DIGEST_BYTES)
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@cache
def _decoy() -> str:
    """A hash no password is known for: an unknown username costs the same work as a known one."""
    return hash_password(secrets.token_urlsafe(24))


def _checked(username: str, name: str, password: str) -> tuple[str, str]:
    username, name = username.strip().lower(), name.strip()
    if not USERNAME.fullmatch(username):
        raise StaffInvalid("username: 2-40 characters, lower-case letters, digits, . _ -",
                           detail_zh="用户名须为 2-40 位小写字母、数字或 . _ -")
    if not 0 < len(name) <= NAME_MAX:
        raise StaffInvalid(f"name: 1-{NAME_MAX} characters", detail_zh="请填写姓名")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise StaffInvalid(f"password: {PASSWORD_MIN}-{PASSWORD_MAX} characters",
                           detail_zh=f"密码须为 {PASSWORD_MIN}-{PASSWORD_MAX} 个字符")
    return username, name


# -- accounts (the partner's API key, an operator or the CLI) -----------------------------------

def _own(session: Session, partner: Partner, username: str) -> PartnerStaff:
    found = session.scalars(select(PartnerStaff).where(
        PartnerStaff.partner_id == partner.id,
        PartnerStaff.username == username.strip().lower())).first()
    if found is None:
        raise StaffNotFound(f"no staff member {username!r} at this partner",
                            detail_zh="本机构没有该收费员")
    return found


def add(uow: UnitOfWork, partner: Partner, *, username: str, name: str, password: str,
        now: datetime, actor: str) -> Member:
    """A new staff account of `partner`; `actor` names who added it in the audit log."""
    username, name = _checked(username, name, password)
    session = uow.session
    taken = session.scalar(select(PartnerStaff.id).where(
        PartnerStaff.partner_id == partner.id, PartnerStaff.username == username))
    if taken is not None:
        raise StaffExists(f"the username {username!r} is taken at this partner (removed "
                          "accounts keep theirs: holds name them)",
                          detail_zh="该用户名已被使用（已删除的账号也保留其用户名）")
    row = PartnerStaff(id=uuid.uuid4(), partner_id=partner.id, username=username, name=name,
                       password_hash=hash_password(password), active=True, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="partner.staff_added", now=now,
                 subject=partner.client_id, data={"staff_id": str(row.id)})
    member = Member.of(row)
    uow.commit()
    return member


def members(session: Session, partner: Partner) -> list[Member]:
    """Every staff account of `partner`, removed ones too, by username."""
    rows = session.scalars(select(PartnerStaff).where(PartnerStaff.partner_id == partner.id)
                           .order_by(PartnerStaff.username))
    return [Member.of(row) for row in rows]


def remove(uow: UnitOfWork, partner: Partner, username: str, *, now: datetime,
           actor: str) -> Member:
    """Remove a staff account: it can no longer sign in and its sessions end at once.
    Removing a removed account answers it again and changes nothing."""
    session = uow.session
    row = _own(session, partner, username)
    if row.active:
        row.active, row.removed_at = False, now
        session.execute(update(StaffSession)
                        .where(StaffSession.staff_id == row.id,
                               StaffSession.revoked_at.is_(None))
                        .values(revoked_at=now))
        session.flush()
        audit.record(session, actor=actor, action="partner.staff_removed", now=now,
                     subject=partner.client_id, data={"staff_id": str(row.id)})
    member = Member.of(row)
    uow.commit()
    return member


# -- sessions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Opened:
    """A staff member's new session: the bearer token (shown once) and when it ends."""

    token: str
    expires_at: datetime
    member: Member
    client_id: str
    partner_name: str


WRONG = ("wrong partner, username or password", "医院编号、用户名或密码不正确")


def sign_in(uow: UnitOfWork, *, client_id: str, username: str, password: str,
            now: datetime) -> Opened:
    """A session for the active staff member `username` of the active partner `client_id`
    whose password this is; one refusal for every wrong part (which part is not told)."""
    session = uow.session
    row = session.execute(
        select(PartnerStaff, Partner)
        .join(Partner, Partner.id == PartnerStaff.partner_id)
        .where(Partner.client_id == client_id.strip(),
               PartnerStaff.username == username.strip().lower())).first()
    stored = row.PartnerStaff.password_hash if row is not None else _decoy()
    matches = password_matches(stored, password)
    if (row is None or not matches or not row.PartnerStaff.active
            or not row.Partner.active):
        raise Unauthorized(WRONG[0], detail_zh=WRONG[1])
    member, partner = row.PartnerStaff, row.Partner
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires = now + SESSION_TTL
    session.add(StaffSession(token_hash=hash_key(token), staff_id=member.id, created_at=now,
                             expires_at=expires))
    audit.record(session, actor=f"staff:{member.id}", action="staff.signed_in", now=now,
                 subject=partner.client_id, data={"staff_id": str(member.id)})
    opened = Opened(token, expires, Member.of(member), partner.client_id, partner.name)
    uow.commit()
    return opened


def sign_out(uow: UnitOfWork, token: str, *, now: datetime) -> None:
    """End a staff session (nothing happens if it is unknown or already ended)."""
    row = uow.session.get(StaffSession, hash_key(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        uow.commit()


# The session, its staff member and their partner in one round trip (every counter request).
_SESSION = (
    select(Partner, PartnerStaff, StaffSession.expires_at, StaffSession.revoked_at)
    .join(PartnerStaff, PartnerStaff.id == StaffSession.staff_id)
    .join(Partner, Partner.id == PartnerStaff.partner_id)
    .where(StaffSession.token_hash == bindparam("h"))
)


def for_session(session: Session, token: str, now: datetime) -> tuple[Partner, PartnerStaff]:
    """The partner and staff member of a live staff session; Unauthorized otherwise (expired,
    signed out, staff removed or partner deactivated)."""
    row = session.execute(_SESSION, {"h": hash_key(token)}).first()
    if (row is None or row.revoked_at is not None or row.expires_at <= now
            or not row.PartnerStaff.active or not row.Partner.active):
        raise Unauthorized("the counter session is unknown, expired or ended",
                           detail_zh="登录已失效，请重新登录")
    return row.Partner, row.PartnerStaff
