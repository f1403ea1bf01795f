"""The audit log: insert-only, hash-chained, with signed checkpoints.

Design overview
---------------
* Every entry stores `prev_hash` and `entry_hash = SHA-256(prev_hash || canonical JSON)`, where
  the canonical JSON covers seq, time, actor, action, subject and data. Editing an entry breaks
  its hash; deleting or reordering entries breaks the chain (`verify` reports which).
* Entries hold identifiers, hashes or ciphertext — never plaintext personal data; `record`
  refuses data keys that name personal fields.
* Appends are serialized so the chain is linear: a transaction-scoped advisory lock. Callers
  append last in their unit of work, so the lock is held only until commit.
* A trigger refuses UPDATE and DELETE (migration 0001).
* Checkpoints sign `{seq, entry_hash, at}` with the `audit` Ed25519 key; exported checkpoints
  let anyone holding the log prove it has not been rewritten since.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import BigInteger, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.canonical import canonical
from core.clock import utc
from core.db import Base, UnitOfWork
from core.signing import Signer, SigningKey

GENESIS = "0" * 64
AUDIT_LOCK = 0x70C0A0D1  # advisory lock id for the audit chain
PERSONAL_FIELDS = frozenset({"name", "id_number", "phone", "address"})


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger(), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str | None] = mapped_column(String(80), index=True)
    data: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger(), primary_key=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(String(1000))


def _hash(prev: str, seq: int, at: datetime, actor: str, action: str, subject: str | None,
          data: dict[str, Any]) -> str:
    body = {"seq": seq, "at": at.isoformat(), "actor": actor, "action": action,
            "subject": subject, "data": data}
    return hashlib.sha256(bytes.fromhex(prev) + canonical(body)).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    now: datetime,
    subject: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain (inside the caller's transaction)."""
    data = data or {}
    leaked = PERSONAL_FIELDS.intersection(data)
    if leaked:
        raise ValueError(f"audit entries never hold personal fields: {sorted(leaked)}")
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    now = utc(now)
    entry = AuditEntry(
        seq=seq, at=now, actor=actor, action=action, subject=subject, data=data,
        prev_hash=prev, entry_hash=_hash(prev, seq, now, actor, action, subject, data),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass
class Verdict:
    ok: bool = True
    entries: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)


def verify(session: Session, signer: Signer, now: datetime) -> Verdict:
    """Walk the whole chain and the checkpoints; report edits, deletions and reorderings."""
    verdict = Verdict()
    prev, expected_seq = GENESIS, 1
    hashes: dict[int, str] = {}
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for entry in rows:
        verdict.entries += 1
        if entry.seq != expected_seq:
            verdict.fail(f"entries {expected_seq}..{entry.seq - 1} are missing (deleted)")
        if entry.prev_hash != prev:
            verdict.fail(f"entry {entry.seq}: chain broken (an entry before it was deleted, "
                         "edited or reordered)")
        recomputed = _hash(entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action,
                           entry.subject, entry.data)
        if recomputed != entry.entry_hash:
            verdict.fail(f"entry {entry.seq}: content does not match its hash (edited)")
        hashes[entry.seq] = entry.entry_hash
        prev, expected_seq = entry.entry_hash, entry.seq + 1
        session.expunge(entry)
    for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)):
        verdict.checkpoints += 1
        claims = verify_checkpoint(session, signer, cp.signature, now)
        if claims is None:
            verdict.fail(f"checkpoint {cp.seq}: signature invalid")
        elif claims.get("seq") != cp.seq or claims.get("entry_hash") != cp.entry_hash:
            verdict.fail(f"checkpoint {cp.seq}: signed content differs from stored")
        if hashes.get(cp.seq) != cp.entry_hash:
            verdict.fail(f"checkpoint {cp.seq}: the log no longer matches the signed hash")
    return verdict


def checkpoint(session: Session, signer: Signer, now: datetime) -> AuditCheckpoint | None:
    """Sign the current head of the chain (None if empty or already checkpointed)."""
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if head is None or session.get(AuditCheckpoint, head[0]) is not None:
        return None
    claims = {"seq": head[0], "entry_hash": head[1], "at": int(now.timestamp())}
    cp = AuditCheckpoint(seq=head[0], entry_hash=head[1], at=now,
                         signature=signer.sign(session, "audit", claims, typ="pc-audit+jwt"))
    session.add(cp)
    session.flush()
    return cp


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint just made: the head of the chain and its signature."""

    seq: int
    entry_hash: str
    at: datetime
    signature: str


def sign_head(uow: UnitOfWork, signer: Signer, now: datetime) -> SignedHead | None:
    """Use case: sign the chain's head and commit (None if empty or already signed)."""
    cp = checkpoint(uow.session, signer, now)
    uow.commit()
    return None if cp is None else SignedHead(cp.seq, cp.entry_hash, cp.at, cp.signature)


def verify_checkpoint(session: Session, signer: Signer, token: str, now: datetime) -> dict | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid", "")
    except jwt.PyJWTError:
        return None
    key = session.get(SigningKey, kid)
    if key is None or key.purpose != "audit":
        return None
    try:
        return jwt.decode(token, Ed25519PublicKey.from_public_bytes(key.public_raw),
                          algorithms=["EdDSA"])
    except jwt.PyJWTError:
        return None
