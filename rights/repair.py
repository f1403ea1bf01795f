"""Credit repair (信用修复): a negative record stops counting once it has been put right.

Design overview
---------------
* Eligibility follows the 信用修复管理办法: the record is negative, active and still within its
  publicity period; its minimum publicity period for its severity class (`core.registry.
  PUBLICITY`: minor none, general 3 months, serious 1 year) has passed; and the obligation
  behind it is met. The obligation is *met* when the source says so (a judicial
  `obligation_fulfilled` record after a `dishonest_debtor` record, or `attributes.
  obligation_met: true`), *unmet* when the source says it is not (`obligation_met: false`), and
  otherwise *declared* by the resident's credit pledge and checked by the reviewer.
  `scenario_performance` records are repaired by this service itself when the bill is paid or
  the item returned, so residents do not apply for them.
* The resident applies with the credit pledge (信用承诺; the SHA-256 of the pledge text agreed to
  is stored) and an optional statement. One pending application per record (partial unique
  index). A reviewer approves — the record becomes `repaired` and stops counting; the score is
  recomputed and stored with the decision, so the score history shows the point (higher only
  when the record counted: consented category, inside a window the model reads) — or rejects
  with a note. The resident is notified either way.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Operator, Resident
from core.notifications import notify
from core.recordops import set_status
from core.records import Record
from core.registry import PUBLICITY
from rights.errors import (
    AlreadyDecided,
    InvalidCorrection,
    PledgeRequired,
    RepairNotEligible,
    RepairNotFound,
    RepairPending,
)
from rights.models import REPAIR_DECISIONS, Repair
from rights.view import (
    clean_text,
    opened,
    operator_acted,
    own_record,
    record_summary,
    rescore,
    stamp,
    undecided,
)

MAX_STATEMENT = 2000
MAX_NOTE = 1000
PLEDGE = {
    "zh": "本人郑重承诺：已纠正该失信行为、履行相关法定义务，所提交的信息真实、准确、完整；"
          "如有不实，愿意承担相应责任，并接受撤销信用修复。",
    "en": "I solemnly pledge that I have corrected this conduct and met the obligations "
          "behind it, and that what I submit is true, accurate and complete; if it is not, "
          "I accept responsibility and that the repair is revoked.",
}
PLEDGE_HASH = hashlib.sha256((PLEDGE["zh"] + "\n" + PLEDGE["en"]).encode()).hexdigest()


@dataclass
class Eligibility:
    eligible: bool
    obligation: str  # met | declared | unmet | automatic | not_applicable
    earliest_at: datetime | None = None
    minimum_days: int | None = None
    reasons: list[dict[str, str]] = field(default_factory=list)

    def refuse(self, code: str, zh: str, en: str) -> None:
        self.eligible = False
        self.reasons.append({"code": code, "zh": zh, "en": en})


def _obligation(session: Session, record: Record) -> str:
    attrs = record.attributes or {}
    if attrs.get("obligation_met") is True:
        return "met"
    if attrs.get("obligation_met") is False:
        return "unmet"
    if record.category == "judicial" and record.type == "dishonest_debtor":
        fulfilled = session.scalar(select(exists().where(
            Record.resident_id == record.resident_id, Record.category == "judicial",
            Record.type == "obligation_fulfilled", Record.occurred_at >= record.occurred_at)))
        return "met" if fulfilled else "unmet"
    return "declared"


def eligibility(session: Session, record: Record, now: datetime, *,
                pending_ok: bool = False) -> Eligibility:
    """Whether the resident may apply to repair `record` now, and if not, why.

    `pending_ok`: judge a pending application itself (the reviewer's view).
    """
    if record.severity is None:
        result = Eligibility(False, "not_applicable")
        result.refuse("not_negative", "该记录不是失信记录，无需修复",
                      "Only negative records are repaired")
        return result
    minimum = PUBLICITY[record.severity][0]
    result = Eligibility(True, "automatic" if record.category == "scenario_performance"
                         else _obligation(session, record),
                         earliest_at=record.occurred_at + minimum, minimum_days=minimum.days)
    if record.status != "active":
        zh = {"disputed": "该记录正在异议处理中", "repaired": "该记录已修复",
              "removed": "该记录已删除", "expired": "该记录公示期已满，不再计入"}
        result.refuse(f"record_{record.status}", zh.get(record.status, "该记录当前不可修复"),
                      f"the record is {record.status}")
    elif record.publicity_ends_at is not None and record.publicity_ends_at <= now:
        result.refuse("publicity_ended", "该记录公示期已满，已不计入信用分",
                      "the publicity period has ended; the record no longer counts")
    if result.obligation == "automatic":
        result.refuse("settles_automatically", "结清账单或归还物品后将自动修复",
                      "repaired automatically when the bill is paid or the item returned")
    if result.earliest_at is not None and now < result.earliest_at:
        result.refuse("minimum_period",
                      f"最短公示期未满，{result.earliest_at.date().isoformat()} 起可申请",
                      f"the minimum publicity period ({minimum.days} days) has not passed; "
                      f"apply from {result.earliest_at.date().isoformat()}")
    if result.obligation == "unmet":
        result.refuse("obligation_unmet", "相关义务尚未履行完毕",
                      "the obligation behind the record is not met yet")
    pending = not pending_ok and session.scalar(select(exists().where(Repair.record_id == record.id,
                                                   Repair.status == "pending")))
    if pending:
        result.refuse("repair_pending", "已有修复申请正在审核",
                      "an application for this record is already pending")
    return result


def describe(e: Eligibility) -> dict[str, Any]:
    return {"eligible": e.eligible, "obligation": e.obligation,
            "earliest_at": iso(e.earliest_at), "minimum_days": e.minimum_days,
            "reasons": e.reasons, "pledge": PLEDGE}


def check(uow: UnitOfWork, resident: Resident, record_id: uuid.UUID, *,
          now: datetime) -> dict[str, Any]:
    """The resident's view of whether their record can be repaired now. Reads only."""
    record = own_record(uow.session, resident.id, record_id)
    return {"record_id": str(record.id), "severity": record.severity,
            **describe(eligibility(uow.session, record, now))}


def apply(uow: UnitOfWork, resident: Resident, *, record_id: uuid.UUID, pledge: bool,
          statement: str | None, now: datetime) -> Repair:
    """Apply to repair one of the resident's records with the credit pledge."""
    if pledge is not True:
        raise PledgeRequired("send `pledge: true` once the resident has read and accepted the "
                             "credit pledge (信用承诺)", detail_zh="请阅读并同意信用承诺")
    text = clean_text(statement, field="statement", max_len=MAX_STATEMENT, required=False)
    session = uow.session
    record = own_record(session, resident.id, record_id, lock=True)
    result = eligibility(session, record, now)
    if not result.eligible:
        codes = [r["code"] for r in result.reasons]
        error = RepairPending if codes == ["repair_pending"] else RepairNotEligible
        raise error("; ".join(r["en"] for r in result.reasons),
                    detail_zh="；".join(r["zh"] for r in result.reasons), reasons=codes,
                    earliest_at=iso(result.earliest_at))
    repair = Repair(id=uuid.uuid4(), resident_id=resident.id, record_id=record.id,
                    pledge_hash=PLEDGE_HASH, statement=text, status="pending",
                    requested_at=now)
    try:
        with session.begin_nested():
            session.add(repair)
            session.flush()
    except IntegrityError:
        raise RepairPending("an application for this record is already pending",
                            detail_zh="已有修复申请正在审核") from None
    audit.record(session, actor=f"resident:{resident.id}", action="repair.requested", now=now,
                 subject=str(repair.id),
                 data={"record_id": str(record.id), "pledge_hash": PLEDGE_HASH,
                       "obligation": result.obligation})
    uow.commit()
    return repair


def mine(uow: UnitOfWork, resident_id: uuid.UUID) -> list[RepairView]:
    """The resident's repair applications as they see them, newest first. Reads only."""
    return [view(r) for r in uow.session.scalars(
        select(Repair).where(Repair.resident_id == resident_id)
        .order_by(Repair.requested_at.desc(), Repair.id))]


def queue(session: Session, *, status: str | None = "pending", limit: int = 100) -> list[Repair]:
    stmt = select(Repair)
    if status:
        stmt = stmt.where(Repair.status == status)
    return list(session.scalars(stmt.order_by(Repair.requested_at, Repair.id).limit(limit)))


@dataclass(frozen=True)
class RepairView:
    """A repair application as the resident sees it; JSON-ready, as the export holds it."""

    id: str
    record_id: str
    status: str
    statement: str | None
    pledge_hash: str
    note: str | None
    requested_at: str
    decided_at: str | None


@dataclass(frozen=True)
class RepairDetail(RepairView):
    """What an operator opening an application sees: whose it is, its record and whether
    the record is eligible."""

    resident_id: str
    record: dict[str, Any] | None
    eligibility: dict[str, Any] | None


def view(r: Repair) -> RepairView:
    return RepairView(id=str(r.id), record_id=str(r.record_id), status=r.status,
                      statement=r.statement, pledge_hash=r.pledge_hash, note=r.note,
                      requested_at=stamp(r.requested_at), decided_at=iso(r.decided_at))


def queue_item(r: Repair) -> dict[str, Any]:
    return {"id": str(r.id), "resident_id": str(r.resident_id), "record_id": str(r.record_id),
            "status": r.status, "requested_at": iso(r.requested_at),
            "decided_at": iso(r.decided_at)}


def _missing(repair_id: uuid.UUID) -> RepairNotFound:
    return RepairNotFound(f"no repair application {repair_id}")


def _learned(r: Repair) -> dict[str, Any]:
    return {"repair_id": str(r.id), "record_id": str(r.record_id),
            "seen": ["repair_statement", "record"]}


def read(uow: UnitOfWork, repair_id: uuid.UUID, *, operator: Operator,
         now: datetime) -> RepairDetail:
    """An operator reads an application with its record; logged for the resident."""
    session = uow.session
    r = opened(session, operator, Repair, repair_id, missing=_missing(repair_id),
               access="repair_read", learned=_learned, action="repair.read", now=now)
    record = session.get(Record, r.record_id)
    detail = describe(eligibility(session, record, now, pending_ok=True)) if record else None
    uow.commit()
    return RepairDetail(**asdict(view(r)), resident_id=str(r.resident_id),
                        record=record_summary(record) if record else None, eligibility=detail)


def decide(uow: UnitOfWork, repair_id: uuid.UUID, *, decision: str, note: str,
           operator: Operator, now: datetime) -> Repair:
    """Approve (the record is repaired and stops counting) or reject a pending application."""
    if decision not in REPAIR_DECISIONS:
        raise InvalidCorrection(f"decision must be one of {', '.join(REPAIR_DECISIONS)}")
    note_text = clean_text(note, field="note", max_len=MAX_NOTE)
    session = uow.session
    r = undecided(session, Repair, repair_id, missing=_missing(repair_id), status="pending",
                  decided=lambda r: f"this application was already {r.status}")
    record = session.scalars(select(Record).where(Record.id == r.record_id)
                             .with_for_update()).one()
    actor = f"operator:{operator.client_id}"
    if decision == "approve":
        if record.status != "active":
            raise AlreadyDecided(f"the record is {record.status} now; it cannot be repaired",
                                 record_status=record.status)
        set_status(session, record, "repaired", actor=actor, now=now, reason=f"repair {r.id}")
    r.status = "approved" if decision == "approve" else "rejected"
    r.note, r.decided_at, r.decided_by = note_text, now, actor
    if r.status == "approved":
        rescore(session, r.resident_id, now)
    approved = r.status == "approved"
    notify(session, resident_id=r.resident_id, kind="repair_decided",
           dedupe_key=f"repair:{r.id}:decided",
           title=("信用修复已通过" if approved else "信用修复未通过",
                  "Credit repair approved" if approved else "Credit repair not approved"),
           body=(("该记录已修复，不再计入信用分。" if approved else "您的修复申请未获通过。")
                 + f" 说明：{note_text}",
                 ("The record is repaired and no longer counts." if approved
                  else "Your application was not approved.") + f" Note: {note_text}"),
           now=now, data={"repair_id": str(r.id), "record_id": str(r.record_id),
                          "status": r.status})
    operator_acted(session, operator, resident_id=r.resident_id, access="repair_decided",
                   learned=_learned(r), action="repair.decided", subject=r.id, now=now,
                   data={"record_id": str(r.record_id), "status": r.status})
    uow.commit()
    return r
