"""Erasure of a resident's account (PIPL art. 47), with the retention the law requires.

Design overview
---------------
* One transaction does everything or nothing: every consent in force is withdrawn (with
  receipts, so outstanding partner tokens die), sessions are revoked, records, scores,
  notifications, disputes, repairs and review requests (the resident's free text) are deleted —
  except what a retention rule keeps — and the resident's **data keys are destroyed** last:
  name, ID number and phone stay in the row (and in every backup) as ciphertext that can never
  be opened again (crypto-shredding).
* What must be kept, until when and why, comes from `retention()`: the audit log (hash-chained,
  never plaintext), consent evidence and the access log (3 years, PIPL arts. 13, 56), the
  **public negative records** still within their publicity period (`PUBLIC_CATEGORIES`:
  judicial, public credit, tax; 信用修复管理办法 for the periods, 征信业管理条例 art. 16 for the
  five-year ceiling), plus each provider's rules (`rights.export.PROVIDERS`: unpaid bills, open
  waivers, the points ledger for settlement…). Every item names its basis and its end date.
  A provider item may name `record_ids` that must survive.
* Erasure cannot launder a record. While anything of `LINKING_SECTIONS` is retained (a public
  record, a bill, a waiver), the account keeps the **blind index of the ID number** (a keyed
  hash, not the number): the same person signing in again is re-attached to the same account
  (`core.identity.reopen_resident`: a new data key, their consents to give again) and finds
  the listing counting, the exclusions standing and the bills owed. With nothing of that kind
  retained, the blind index is replaced by a random tombstone at once and signing in again
  opens a new, empty account.
* Retained items end with their period: scoring and exclusions ignore a record past its
  publicity end at read time, and the `erasure.retention` job (`lapse`) deletes what has ended
  and drops the blind index once nothing linking remains.
* The answer is stored (`erasures`), so asking again — even with the revoked session token —
  returns the same statement and changes nothing. An account reopened by signing in again can
  be erased again; the new statement replaces the stored one (both are in the audit log).
* A backup taken before the erasure still holds the key. So, once the erasure has committed,
  it is appended to the erasure journal (`core.journal`, a file outside the database), and
  `pengcheng restore finish` erases again, in a restored database, everyone the journal names.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from consent.models import ConsentRecord
from consent.services import Signing, withdraw_all
from core import audit
from core.crypto import DataKey, Keyring
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Resident, SessionToken, hash_key
from core.journal import ErasureJournal
from core.notifications import Notification
from core.records import Record
from core.registry import CATEGORIES, record_type
from rights.export import providers
from rights.models import Dispute, Erasure, Repair, ReviewRequest
from scoring.store import Score

log = logging.getLogger(__name__)

EVIDENCE_YEARS = 3
SHREDDED = ("name", "id_number", "phone")
TOMBSTONE = "erased:"
# Public negative records the law requires to be kept (and to keep counting) while published.
PUBLIC_CATEGORIES = ("judicial", "public_credit", "tax")
CEILING = timedelta(days=5 * 365)  # 征信业管理条例 art. 16: negative information, five years
RECORD_BASIS = ("征信业管理条例 art. 16 (negative credit information is kept five years at "
                "most); 失信行为纠正后的信用信息修复管理办法（试行） (publicity periods by "
                "severity: general up to 1 year, serious up to 3 years)")
# What each provider's retention rests on (a provider item may name its own `basis`).
SECTION_BASIS = {
    "credit": "民法典 arts. 579, 188 (a money debt can be claimed until paid; claims within "
              "three years)",
    "waivers": "民法典 arts. 577, 188 (an obligation stands until performed; claims within "
               "three years)",
    "points": "会计档案管理办法 art. 14 (accounting records kept 30 years)",
}
# Sections whose retained items keep the account reachable by the ID number's blind index:
# the person's standing and debts, which signing in again must not shed.
LINKING_SECTIONS = frozenset({"records", "credit", "waivers"})


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
         "why_zh": "审计日志只增不改、逐条哈希链接，删除任何条目都会破坏其完整性证明；"
                   "其中没有可识别您的信息（《网络安全法》第二十一条：日志至少保存六个月）",
         "basis": "网络安全法 art. 21 (logs kept at least six months); 征信业管理条例"},
        {"what": "consent records and events with their signed receipts",
         "what_zh": "授权记录、授权事件及其签名回执",
         "until": evidence_until,
         "why": "evidence that every use of your data had your consent",
         "why_zh": "证明对您数据的每一次使用都取得了您的授权（《个人信息保护法》第十三、十四条），"
                   "保存3年",
         "basis": "个人信息保护法 arts. 13-14 (consent as the legal basis must be provable)"},
        {"what": "the access log (who verified your tokens or read your data, and when)",
         "what_zh": "查询记录（谁在何时核验或查阅了您的数据）",
         "until": evidence_until,
         "why": "records of processing must be kept for accountability",
         "why_zh": "个人信息处理记录须留存备查（《个人信息保护法》第五十六条：至少保存3年）",
         "basis": "个人信息保护法 art. 56 (records kept at least three years)"},
    ]


def record_ends(record: Record) -> datetime | None:
    """When a retained public record stops being kept: the end of its publicity period, and
    never later than five years after it occurred. None: not a record the law keeps."""
    if record.category not in PUBLIC_CATEGORIES or record.severity is None:
        return None
    ceiling = record.occurred_at + CEILING
    ends = record.publicity_ends_at
    return ceiling if ends is None or ends > ceiling else ends


def _public_records(session: Session, resident_id: uuid.UUID,
                    now: datetime) -> list[dict[str, Any]]:
    """The resident's public negative records still within their publicity period."""
    rows = session.scalars(select(Record).where(
        Record.resident_id == resident_id, Record.category.in_(PUBLIC_CATEGORIES),
        Record.severity.is_not(None), Record.status.in_(("active", "disputed")))
        .order_by(Record.occurred_at, Record.id))
    out = []
    for r in rows:
        ends = record_ends(r)
        if ends is None or ends <= now:
            continue
        kind = record_type(r.category, r.type)
        cat = CATEGORIES[r.category]
        name_zh = kind.name_zh if kind else r.type
        name_en = kind.name_en if kind else r.type
        day = r.occurred_at.date().isoformat()
        out.append({
            "section": "records",
            "what": f"public negative record: {name_en} ({cat.name_en}), {day}",
            "what_zh": f"公共负面记录：{cat.name_zh}·{name_zh}（{day}）",
            "until": iso(ends),
            "why": "a public negative record is kept, and keeps counting, while it is "
                   "published; erasing the account does not end its publicity period",
            "why_zh": "公共负面记录在公示期内依法保留并继续计入，注销账户不会提前结束公示期"
                      "（《征信业管理条例》第十六条；《失信行为纠正后的信用信息修复管理办法（试行）》）",
            "basis": RECORD_BASIS,
            "record_ids": [str(r.id)]})
    return out


def retention(session: Session, resident_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """Everything kept after erasure, each with its end date (`until`, None: no fixed end) and
    its legal basis: this service's rules, the public records, then each provider's."""
    items = _standing(now) + _public_records(session, resident_id, now)
    for name, module in providers():
        for item in module.retention(session, resident_id, now):
            basis = SECTION_BASIS.get(name)
            items.append({"section": name, **({"basis": basis} if basis else {}), **item})
    return items


def links(items: list[dict[str, Any]]) -> bool:
    """Whether retained `items` keep the account reachable by the ID number's blind index."""
    return any(item.get("section") in LINKING_SECTIONS for item in items)


def _kept_records(items: list[dict[str, Any]]) -> set[uuid.UUID]:
    return {uuid.UUID(str(i)) for item in items for i in item.get("record_ids") or []}


def _erasable(rid: uuid.UUID, keep: set[uuid.UUID]) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """What erasure deletes at once: name -> (model, conditions)."""
    return {
        "disputes": (Dispute, (Dispute.resident_id == rid,)),
        "repairs": (Repair, (Repair.resident_id == rid,)),
        "review_requests": (ReviewRequest, (ReviewRequest.resident_id == rid,)),
        "scores": (Score, (Score.resident_id == rid,)),
        "notifications": (Notification, (Notification.resident_id == rid,)),
        "records": (Record, (Record.resident_id == rid, Record.id.not_in(keep))),
    }


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


_LOGIN_AGAIN = {
    True: {"zh": "您的身份证号仅以不可逆的密钥哈希（盲索引）保留：以后如再次登录，"
                 "将重新关联到本账户依法保留的上述记录、账单及免押，它们继续生效直至所述期限；"
                 "其余内容不会恢复。",
           "en": "Your ID number is kept only as a keyed one-way hash (blind index): if you sign "
                 "in again, you are re-attached to what is retained above, which keeps its "
                 "effect until its end date; nothing else comes back."},
    False: {"zh": "以后如再次登录，将开设一个全新的空账户，与本账户无任何关联。",
            "en": "Logging in again later opens a new, empty account with no link to this one."},
}


def preview(session: Session, resident: Resident, now: datetime) -> dict[str, Any]:
    """What erasing the account now would delete (counts) and keep (`retention`), changing
    nothing: the resident reads it before confirming."""
    rid = resident.id
    kept = retention(session, rid, now)
    keep = _kept_records(kept)
    linked = links(kept)
    count = {name: int(session.scalar(select(func.count()).select_from(model).where(*where))
                       or 0)
             for name, (model, where) in _erasable(rid, keep).items()}
    consents = session.scalar(select(func.count()).select_from(ConsentRecord).where(
        ConsentRecord.resident_id == rid, ConsentRecord.status == "active"))
    return {"shredded": {"fields": list(SHREDDED)}, "deleted": count,
            "records_kept": len(keep), "consents_in_force": int(consents or 0),
            "retained": kept, "reattached_on_login": linked, "login_again": _LOGIN_AGAIN[linked]}


def erase(uow: UnitOfWork, resident: Resident, *, keyring: Keyring, signing: Signing,
          now: datetime, journal: ErasureJournal | None = None) -> dict[str, Any]:
    """Erase the resident's account; the statement of what was deleted and what is kept.
    Once committed, the erasure is appended to `journal` (None: a replay from it)."""
    session = uow.session
    done = session.get(Erasure, resident.id)
    if done is not None and resident.status == "erased":
        return done.statement
    rid = resident.id
    kept = retention(session, rid, now)
    keep = _kept_records(kept)
    linked = links(kept)
    actor = f"resident:{rid}"
    withdrawn = withdraw_all(session, resident, now=now, signing=signing, actor=actor,
                             reason="account erased at the resident's request")
    revoked = session.execute(
        update(SessionToken).where(SessionToken.resident_id == rid,
                                   SessionToken.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False))
    deleted = {name: _delete(session, model, *where)
               for name, (model, where) in _erasable(rid, keep).items()}
    # The disputes are gone with the resident's free text: a kept record they marked counts as
    # it stands.
    session.execute(update(Record).where(Record.id.in_(keep), Record.status == "disputed")
                    .values(status="active").execution_options(synchronize_session=False))
    resident.status = "erased"
    if not linked:
        resident.id_index = f"{TOMBSTONE}{uuid.uuid4().hex}"
    resident.birth_year = resident.district = None
    resident.score_stale_at = now
    statement = {
        "resident_id": str(rid),
        "erased_at": iso(now),
        "summary": {
            "zh": "您的账户已注销：姓名、身份证号、手机号已通过销毁数据密钥永久不可恢复（含备份），"
                  "可删除的记录、信用分、通知及申请已删除，授权已全部撤回。下列数据依法保留至所述期限。",
            "en": "Your account is erased: your name, ID number and phone can never be "
                  "decrypted again (backups included) because their key was destroyed; the "
                  "records we may delete, scores, notifications and applications are deleted "
                  "and every consent is withdrawn. What the law requires us to keep is listed "
                  "below, each with its legal basis and end date.",
        },
        "shredded": {"fields": list(SHREDDED),
                     "how": "the resident's data key was destroyed (crypto-shredding)"},
        "deleted": deleted,
        "records_kept": len(keep),
        "consents_withdrawn": [{"consent_id": str(o.record.id), "purpose": o.record.purpose,
                                "receipt": o.receipt} for o in withdrawn],
        "sessions_revoked": int(revoked.rowcount or 0),  # type: ignore[attr-defined]
        "retained": kept,
        "reattached_on_login": linked,
        "login_again": _LOGIN_AGAIN[linked],
    }
    if done is None:
        session.add(Erasure(resident_id=rid, erased_at=now, statement=statement))
    else:  # an account reopened by signing in again, erased again
        done.erased_at, done.statement = now, statement
    audit.record(session, actor=actor, action="resident.erased", now=now, subject=str(rid),
                 data={"deleted": deleted, "records_kept": len(keep),
                       "consents_withdrawn": len(withdrawn), "reattached_on_login": linked,
                       "retained": [{"what": item["what"], "until": item["until"]}
                                    for item in kept]})
    # Last: a failure before this leaves the keys intact. Every key the resident owns, not
    # only the current one, so nothing encrypted for them under an older key survives.
    for key in session.scalars(select(DataKey).where(
            (DataKey.owner == str(rid)) | (DataKey.id == resident.data_key_id),
            DataKey.wrapped.is_not(None))):
        keyring.destroy(key, now)
    if journal is not None:
        uow.after_commit(lambda: _journal(journal, rid, now))
    uow.commit()
    return statement


def lapse(uow: UnitOfWork, now: datetime, *, after: uuid.UUID | None = None,
          limit: int = 500) -> tuple[dict[str, int], uuid.UUID | None]:
    """End what erased accounts retain once its period is over: delete the records no longer
    retained (a public record past its end, a record a job wrote since) and the notifications
    sent since, and drop the blind index of an account with nothing linking left (signing in
    again then opens a new account). Up to `limit` accounts after `after` (by id), one commit;
    the counts and the last id (None: no more)."""
    session = uow.session
    # Linked accounts, and any erased account holding a record a job wrote after its erasure
    # (e.g. the repayment record of a bill paid just before it).
    has_records = select(Record.id).where(Record.resident_id == Resident.id).exists()
    query = select(Resident).where(Resident.status == "erased",
                                   Resident.id_index.not_like(f"{TOMBSTONE}%") | has_records)
    if after is not None:
        query = query.where(Resident.id > after)
    accounts = list(session.scalars(query.order_by(Resident.id).limit(limit)
                                    .with_for_update(skip_locked=True)))
    counts = {"accounts": len(accounts), "records_ended": 0, "unlinked": 0}
    for resident in accounts:
        kept = retention(session, resident.id, now)
        ended = _delete(session, Record, Record.resident_id == resident.id,
                        Record.id.not_in(_kept_records(kept)))
        # reminders the credit and waiver jobs sent to the erased account since
        _delete(session, Notification, Notification.resident_id == resident.id)
        unlinked = not links(kept) and not resident.id_index.startswith(TOMBSTONE)
        if unlinked:
            resident.id_index = f"{TOMBSTONE}{uuid.uuid4().hex}"
        counts["records_ended"] += ended
        counts["unlinked"] += unlinked
        if ended or unlinked:
            audit.record(session, actor="system", action="resident.retention_ended", now=now,
                         subject=str(resident.id),
                         data={"records_deleted": ended, "unlinked": unlinked})
    uow.commit()
    return counts, (accounts[-1].id if len(accounts) == limit else None)


def statement_for_session(uow: UnitOfWork, token: str) -> dict[str, Any] | None:
    """The erasure statement of the account a (now revoked) session token belonged to, for
    asking again (the same answer as the erasure's). Reads only."""
    session = uow.session
    row = session.get(SessionToken, hash_key(token))
    if row is None:
        return None
    done = session.scalar(select(Erasure).where(Erasure.resident_id == row.resident_id))
    return None if done is None else done.statement
