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
* Checkpoints sign `{seq, entry_hash, at}` with the `audit` Ed25519 key. Each checkpoint
  signs an `audit.checkpoint` entry of its own (appended in the same transaction), so a quiet
  chain is still signed every interval and a deleted checkpoint leaves its entry behind.
* What the database alone cannot prove: someone able to write to it can re-hash the whole
  chain and delete the checkpoints, or drop the newest entries together with the checkpoints
  that cover them. Two rules close that (`verify`): checkpoints exported earlier and kept
  outside (`exported`) must still verify and match the chain; without them, the newest
  stored checkpoint must exist and be recent (`max_age`), since only the audit key can make
  a new one. Entries after the newest checkpoint are covered by the next one only.
* Auditors read the chain page by page (`entries`, keyset on `seq`): every entry with its
  `prev_hash` and `entry_hash`, so they can recompute the chain themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
CHECKPOINT_ACTION = "audit.checkpoint"  # the entry each checkpoint signs
WALK_BATCH = 5000  # entries per statement while verifying
MAX_PAGE = 500  # entries per page for auditors


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
    """What `verify` found: counts, the newest stored checkpoint, and every problem."""

    ok: bool = True
    entries: int = 0
    checkpoints: int = 0
    exported: int = 0  # checkpoints of an exported file checked
    newest_checkpoint: SignedHead | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint: the head of the chain it covers and its signature (one exported line)."""

    seq: int
    entry_hash: str
    at: datetime
    signature: str


def verify(session: Session, signer: Signer, now: datetime, *,
           exported: Sequence[SignedHead] | None = None,
           max_age: timedelta | None = None) -> Verdict:
    """Walk the whole chain and the stored checkpoints; report edits, deletions, reorderings.

    `exported`: checkpoints exported earlier and kept outside the database; each must verify
    and still match the chain (a re-hashed, truncated or missing chain fails). `max_age`: the
    newest stored checkpoint must exist and be at most this old (checkpoints deleted, or the
    job that makes them stopped, fail).
    """
    verdict = Verdict()
    stored = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))
    outside = list(exported or ())
    wanted = {cp.seq for cp in stored} | {cp.seq for cp in outside}
    hashes, recorded, head = _walk(session, wanted, verdict)
    by_seq = {cp.seq: cp for cp in stored}
    ours: dict[str, bool] = {}  # kid -> made with our master key
    for seq in recorded:
        if seq not in by_seq:
            verdict.fail(f"entry {seq} records checkpoint {seq}, which is not in the database "
                         "(deleted)")
    for cp in stored:
        verdict.checkpoints += 1
        claims = verify_checkpoint(session, signer, cp.signature, now, ours)
        if claims is None:
            verdict.fail(f"checkpoint {cp.seq}: signature invalid")
        elif not _signs(claims, cp.seq, cp.entry_hash, cp.at):
            verdict.fail(f"checkpoint {cp.seq}: signed content differs from stored")
        if hashes.get(cp.seq) != cp.entry_hash:
            verdict.fail(f"checkpoint {cp.seq}: the log no longer matches the signed hash")
    if stored:
        newest = stored[-1]
        verdict.newest_checkpoint = SignedHead(newest.seq, newest.entry_hash, utc(newest.at),
                                               newest.signature)
    if exported is not None:
        _against_exported(session, signer, now, outside, hashes, head, by_seq, ours, verdict)
    if max_age is not None:
        _fresh(verdict, now, max_age)
    return verdict


def _signs(claims: dict[str, Any], seq: int, entry_hash: str, at: datetime) -> bool:
    """Whether a checkpoint's signed claims are its stated seq, hash and time (to the second:
    the freshness rule reads the time, so it must be the signed one)."""
    return (claims.get("seq"), claims.get("entry_hash"), claims.get("at")) == (
        seq, entry_hash, int(utc(at).timestamp()))


def _walk(session: Session, wanted: set[int], verdict: Verdict
          ) -> tuple[dict[int, str], list[int], int | None]:
    """Check every link, in batches: ({seq: entry_hash} of the `wanted` seqs, the seqs of
    `audit.checkpoint` entries, the head's seq)."""
    prev, expected_seq, after = GENESIS, 1, 0
    hashes: dict[int, str] = {}
    recorded: list[int] = []
    columns = (AuditEntry.seq, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
               AuditEntry.subject, AuditEntry.data, AuditEntry.prev_hash, AuditEntry.entry_hash)
    while True:
        rows = session.execute(select(*columns).where(AuditEntry.seq > after)
                               .order_by(AuditEntry.seq).limit(WALK_BATCH)).all()
        for entry in rows:
            verdict.entries += 1
            if entry.seq != expected_seq:
                verdict.fail(f"entries {expected_seq}..{entry.seq - 1} are missing (deleted)")
            if entry.prev_hash != prev:
                verdict.fail(f"entry {entry.seq}: chain broken (an entry before it was "
                             "deleted, edited or reordered)")
            recomputed = _hash(entry.prev_hash, entry.seq, entry.at, entry.actor,
                               entry.action, entry.subject, entry.data)
            if recomputed != entry.entry_hash:
                verdict.fail(f"entry {entry.seq}: content does not match its hash (edited)")
            if entry.seq in wanted:
                hashes[entry.seq] = entry.entry_hash
            if entry.action == CHECKPOINT_ACTION:
                recorded.append(entry.seq)
            prev, expected_seq = entry.entry_hash, entry.seq + 1
        if len(rows) < WALK_BATCH:
            return hashes, recorded, (expected_seq - 1 if verdict.entries else None)
        after = rows[-1].seq


def _against_exported(session: Session, signer: Signer, now: datetime,
                      exported: list[SignedHead], hashes: dict[int, str], head: int | None,
                      stored: dict[int, AuditCheckpoint], ours: dict[str, bool],
                      verdict: Verdict) -> None:
    """Each exported checkpoint must be ours, and the chain must still hold what it signed."""
    if not exported:
        verdict.fail("the checkpoints file holds no checkpoint")
    for cp in exported:
        verdict.exported += 1
        where = f"checkpoint {cp.seq} in the file"
        claims = verify_checkpoint(session, signer, cp.signature, now, ours)
        if claims is None:
            verdict.fail(f"{where}: signature invalid")
            continue
        if not _signs(claims, cp.seq, cp.entry_hash, cp.at):
            verdict.fail(f"{where}: signed content differs from the line")
            continue
        if head is None or cp.seq > head:
            verdict.fail(f"chain truncated: it ends at entry {head or 0}, but checkpoint "
                         f"{cp.seq} signed entries up to {cp.seq} "
                         f"(entries {(head or 0) + 1}..{cp.seq} deleted)")
        elif cp.seq not in hashes:
            verdict.fail(f"{where}: entry {cp.seq} is missing (deleted)")
        elif hashes[cp.seq] != cp.entry_hash:
            verdict.fail(f"entry {cp.seq} no longer matches {where}: the chain was rewritten "
                         f"at or before entry {cp.seq}")
        if cp.seq not in stored:
            verdict.fail(f"{where} is not in the database (deleted)")


def _fresh(verdict: Verdict, now: datetime, max_age: timedelta) -> None:
    newest = verdict.newest_checkpoint
    if newest is None:
        verdict.fail("no checkpoint: the chain was never signed or its checkpoints were "
                     "deleted (`pengcheng audit checkpoint` signs it)")
    elif utc(now) - newest.at > max_age:
        verdict.fail(f"the newest checkpoint ({newest.seq}, {newest.at.isoformat()}) is older "
                     f"than {max_age.total_seconds() / 60:g} minutes: the checkpoint job "
                     "stopped, or newer checkpoints and entries were deleted")


def checkpoint(session: Session, signer: Signer, now: datetime, *,
               actor: str = "system") -> AuditCheckpoint:
    """Append an `audit.checkpoint` entry and sign it, the chain's new head.

    A checkpoint always signs an entry of its own, so a quiet chain is signed again every
    interval (verify's freshness rule) and each stored checkpoint is announced in the chain.
    """
    entry = record(session, actor=actor, action=CHECKPOINT_ACTION, now=now)
    claims = {"seq": entry.seq, "entry_hash": entry.entry_hash, "at": int(now.timestamp())}
    cp = AuditCheckpoint(seq=entry.seq, entry_hash=entry.entry_hash, at=utc(now),
                         signature=signer.sign(session, "audit", claims, typ="pc-audit+jwt"))
    session.add(cp)
    session.flush()
    return cp


def sign_head(uow: UnitOfWork, signer: Signer, now: datetime, *,
              actor: str = "cli") -> SignedHead:
    """Use case: make a checkpoint now and commit."""
    cp = checkpoint(uow.session, signer, now, actor=actor)
    uow.commit()
    return SignedHead(cp.seq, cp.entry_hash, utc(cp.at), cp.signature)


def signed_checkpoints(session: Session) -> list[SignedHead]:
    """Every stored checkpoint, oldest first (what `audit export-checkpoints` writes)."""
    return [SignedHead(cp.seq, cp.entry_hash, utc(cp.at), cp.signature)
            for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))]


def exported_line(cp: SignedHead) -> dict[str, Any]:
    """One line of the checkpoints file."""
    return {"seq": cp.seq, "entry_hash": cp.entry_hash, "at": cp.at.isoformat(),
            "signature": cp.signature}


def parse_exported(lines: Iterable[str]) -> list[SignedHead]:
    """The checkpoints of a file `audit export-checkpoints` wrote (JSON lines; blank lines
    skipped). Raises ValueError naming the first line that is not one."""
    found = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            found.append(SignedHead(int(item["seq"]), str(item["entry_hash"]),
                                    utc(datetime.fromisoformat(str(item["at"]))),
                                    str(item["signature"])))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"line {n} is not an exported checkpoint ({exc})") from exc
    return found


@dataclass(frozen=True)
class Entry:
    """One entry as auditors read it: enough to recompute its hash and link."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    data: dict[str, Any]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class Page:
    """A page of entries in chain order; `next_after_seq` continues it (None: no more)."""

    items: list[Entry]
    next_after_seq: int | None


def entries(session: Session, *, action: str | None = None, subject: str | None = None,
            actor: str | None = None, since: datetime | None = None,
            until: datetime | None = None, after_seq: int = 0, limit: int = 100) -> Page:
    """Entries with seq > `after_seq` in chain order, filtered: `action` exactly or, ending in
    `.*`, by prefix (`dispute.*`); `subject` and `actor` exactly; time in [since, until)."""
    query = select(AuditEntry).where(AuditEntry.seq > after_seq)
    if action is not None and action.endswith(".*"):
        query = query.where(AuditEntry.action.startswith(action[:-1], autoescape=True))
    elif action is not None:
        query = query.where(AuditEntry.action == action)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    limit = max(1, min(limit, MAX_PAGE))
    rows = list(session.scalars(query.order_by(AuditEntry.seq).limit(limit + 1)))
    items = [Entry(e.seq, utc(e.at), e.actor, e.action, e.subject, e.data, e.prev_hash,
                   e.entry_hash) for e in rows[:limit]]
    return Page(items, items[-1].seq if len(rows) > limit else None)


def verify_checkpoint(session: Session, signer: Signer, token: str, now: datetime,
                      ours: dict[str, bool] | None = None) -> dict | None:
    """The claims of a checkpoint's signature, or None unless it verifies with an `audit` key
    that is ours (`Signer.holds`: a key row slipped into the database does not count).
    `ours` caches that answer per kid across one verification."""
    try:
        kid = jwt.get_unverified_header(token).get("kid", "")
    except jwt.PyJWTError:
        return None
    key = session.get(SigningKey, kid)
    if key is None or key.purpose != "audit":
        return None
    held = ours.get(kid) if ours is not None else None
    if held is None:
        held = signer.holds(key)
        if ours is not None:
            ours[kid] = held
    if not held:
        return None
    try:
        return jwt.decode(token, Ed25519PublicKey.from_public_bytes(key.public_raw),
                          algorithms=["EdDSA"])
    except jwt.PyJWTError:
        return None
