"""Erasure of a resident's account (PIPL art. 47), with the retention the law requires.

Design overview
---------------
* One transaction does everything or nothing: every consent in force is withdrawn (with
  receipts, so outstanding partner tokens die), sessions are revoked, records, scores,
  notifications, disputes, repairs and review requests are deleted — except what a retention
  rule keeps — and the resident's **data key is destroyed** last: name, ID number and phone
  stay in the row (and in every backup) as ciphertext that can never be opened again
  (crypto-shredding). The blind index of the ID number is replaced by a random tombstone, so
  nothing links the old account to the person any more.
* What must be kept, until when and why, comes from `retention()`: the audit log (hash-chained,
  never plaintext), consent evidence and the access log (3 years, PIPL arts. 13, 56), plus each
  provider's rules (`rights.export.PROVIDERS`: unpaid bills, the points ledger for settlement…).
  A provider item may name `record_ids` that must survive (e.g. the record of an unpaid bill).
  Retention never blocks the erasure: what can be shredded is shredded, and the answer says
  what remains.
* The answer is stored (`erasures`), so asking again — even with the revoked session token —
  returns the same statement and changes nothing.
* Logging in again later with the same ID number opens a **new, empty account**: the old one
  cannot be found from the ID number and its personal fields cannot be decrypted.
* A backup taken before the erasure still holds the key. So, once the erasure has committed,
  it is appended to the erasure journal (`core.journal`, a file outside the database), and
  `pengcheng restore finish` erases again, in a restored database, everyone the journal names.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from consent.services import Signing, withdraw_all
from core import audit
from core.crypto import DataKey, Keyring
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Resident, SessionToken, hash_key
from core.journal import ErasureJournal
from core.notifications import Notification
from core.records import Record
from rights.export import providers
from rights.models import Dispute, Erasure, Repair, ReviewRequest
from scoring.store import Score

log = logging.getLogger(__name__)

EVIDENCE_YEARS = 3
SHREDDED = ("name", "id_number", "phone")


def _standing(now: datetime) -> list[dict[str, Any]]:
    """What this service itself keeps after any erasure."""
    evidence_until = iso(now + timedelta(days=365 * EVIDENCE_YEARS))
    return [
        {"what": "audit log entries about the account (identifiers and hashes, never your "
                 "name, ID number or phone)",
         "what_zh": "审计日志（仅含标识和哈希，不含姓名、身份证号、手机号）",
         "until": None,
         "why": "the log is insert-only and hash-chained: removing entries would destroy the "
                "proof that it is complete; it holds nothing that identifies you",
         "basis": "网络安全法 art. 21 (logs kept at least six months); 征信业管理条例"},
        {"what": "consent records and events with their signed receipts",
         "what_zh": "授权记录、授权事件及其签名回执",
         "until": evidence_until,
         "why": "evidence that every use of your data had your consent",
         "basis": "个人信息保护法 arts. 13-14 (consent as the legal basis must be provable)"},
        {"what": "the access log (who verified your tokens or read your data, and when)",
         "what_zh": "查询记录（谁在何时核验或查阅了您的数据）",
         "until": evidence_until,
         "why": "records of processing must be kept for accountability",
         "basis": "个人信息保护法 art. 56 (records kept at least three years)"},
    ]


def retention(session: Session, resident_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """Everything kept after erasure: this service's rules, then each provider's."""
    items = _standing(now)
    for name, module in providers():
        for item in module.retention(session, resident_id, now):
            items.append({"section": name, **item})
    return items


def _kept_records(items: list[dict[str, Any]]) -> set[uuid.UUID]:
    return {uuid.UUID(str(i)) for item in items for i in item.get("record_ids") or []}


def _delete(session: Session, model: Any, *where: Any) -> int:
    result = session.execute(delete(model).where(*where)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _journal(journal: ErasureJournal, resident_id: uuid.UUID, now: datetime) -> None:
    """Append the committed erasure to the journal. The erasure stands if the file cannot be
    written (the resident's answer is true); the operator is told how to catch up."""
    try:
        journal.append(resident_id, now)
    except OSError:
        log.exception("erasure of %s committed but not written to the erasure journal %s: run "
                      "`pengcheng restore sync-journal`", resident_id, journal.path)


def erase(uow: UnitOfWork, resident: Resident, *, keyring: Keyring, signing: Signing,
          now: datetime, journal: ErasureJournal | None = None) -> dict[str, Any]:
    """Erase the resident's account; the statement of what was deleted and what is kept.
    Once committed, the erasure is appended to `journal` (None: a replay from it)."""
    session = uow.session
    done = session.get(Erasure, resident.id)
    if done is not None:
        return done.statement
    rid = resident.id
    kept = retention(session, rid, now)
    keep = _kept_records(kept)
    actor = f"resident:{rid}"
    withdrawn = withdraw_all(session, resident, now=now, signing=signing, actor=actor,
                             reason="account erased at the resident's request")
    revoked = session.execute(
        update(SessionToken).where(SessionToken.resident_id == rid,
                                   SessionToken.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False))
    deleted = {
        "disputes": _delete(session, Dispute, Dispute.resident_id == rid),
        "repairs": _delete(session, Repair, Repair.resident_id == rid),
        "review_requests": _delete(session, ReviewRequest, ReviewRequest.resident_id == rid),
        "scores": _delete(session, Score, Score.resident_id == rid),
        "notifications": _delete(session, Notification, Notification.resident_id == rid),
        "records": _delete(session, Record, Record.resident_id == rid, Record.id.not_in(keep)),
    }
    resident.status = "erased"
    resident.id_index = f"erased:{uuid.uuid4().hex}"
    resident.birth_year = resident.district = None
    statement = {
        "resident_id": str(rid),
        "erased_at": iso(now),
        "summary": {
            "zh": "您的账户已注销：姓名、身份证号、手机号已通过销毁数据密钥永久不可恢复（含备份），"
                  "记录、信用分、通知及申请已删除，授权已全部撤回。下列数据依法保留至所述期限。",
            "en": "Your account is erased: your name, ID number and phone can never be "
                  "decrypted again (backups included) because their key was destroyed; "
                  "records, scores, notifications and applications are deleted and every "
                  "consent is withdrawn. What the law requires us to keep is listed below.",
        },
        "shredded": {"fields": list(SHREDDED),
                     "how": "the resident's data key was destroyed (crypto-shredding)"},
        "deleted": deleted,
        "records_kept": len(keep),
        "consents_withdrawn": [{"consent_id": str(o.record.id), "purpose": o.record.purpose,
                                "receipt": o.receipt} for o in withdrawn],
        "sessions_revoked": int(revoked.rowcount or 0),  # type: ignore[attr-defined]
        "retained": kept,
        "login_again": {
            "zh": "以后如再次登录，将开设一个全新的空账户，与本账户无任何关联。",
            "en": "Logging in again later opens a new, empty account with no link to this one.",
        },
    }
    session.add(Erasure(resident_id=rid, erased_at=now, statement=statement))
    audit.record(session, actor=actor, action="resident.erased", now=now, subject=str(rid),
                 data={"deleted": deleted, "records_kept": len(keep),
                       "consents_withdrawn": len(withdrawn),
                       "retained": [item["what"] for item in kept]})
    # Last: a failure before this leaves the keys intact. Every key the resident owns, not
    # only the current one, so nothing encrypted for them under an older key survives.
    for key in session.scalars(select(DataKey).where(
            (DataKey.owner == str(rid)) | (DataKey.id == resident.data_key_id))):
        keyring.destroy(key, now)
    if journal is not None:
        uow.after_commit(lambda: _journal(journal, rid, now))
    uow.commit()
    return statement


def statement_for_session(uow: UnitOfWork, token: str) -> dict[str, Any] | None:
    """The erasure statement of the account a (now revoked) session token belonged to, for
    asking again (the same answer as the erasure's). Reads only."""
    session = uow.session
    row = session.get(SessionToken, hash_key(token))
    if row is None:
        return None
    done = session.scalar(select(Erasure).where(Erasure.resident_id == row.resident_id))
    return None if done is None else done.statement
