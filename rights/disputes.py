"""Disputes (异议): a resident objects to a record; an operator resolves it within a deadline.

Design overview
---------------
* Opening a dispute **marks** the record (异议标注: status `disputed`, through
  `core.recordops.set_status`); it does not erase it. The record **keeps counting** — score,
  exclusions, the resident's list — until an operator decides; the resident's records, score
  page and report say "under dispute" (`marks` gives the score page its lines), and no page
  describes the record as absent.
* If nobody decides by the deadline, the record stops counting **from the deadline on** (the
  office's delay is not the resident's loss): scoring reads the open dispute's `due_at` as the
  record's `counts_until` (`scoring.features`), so a score computed before the deadline is
  valid only until it, and `pc_exclusions` stops applying the record at the same instant.
* Only an active record can be disputed, and only once at a time: the partial unique index
  `uq_disputes_open_record` guarantees it even for two requests racing; the Python check gives
  the friendly message.
* Every dispute has a deadline (`DISPUTE_DAYS` after it was opened) the resident sees; past it,
  the operator queue flags it overdue (and the `disputes.overdue` job records that once).
* Resolution: `upheld` (the record was right: it counts again, also after an overdue
  deadline), `corrected` (the operator fixes named fields in place — type, severity, amount,
  quantity, occurred_at — keeping the values before and after on the dispute; the corrected
  record counts again) or `removed` (status removed: it never counts again). The score is
  recomputed and stored in the same transaction as the decision (when the resident has a
  scoring consent), and the resident is notified.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, dates
from core.clock import utc
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Operator, Resident
from core.notifications import notify
from core.recordops import mark_stale, set_status
from core.records import Record
from core.registry import PUBLICITY, SEVERITIES, record_type
from rights.errors import (
    AlreadyDisputed,
    DisputeNotFound,
    InvalidCorrection,
    NotDisputable,
)
from rights.models import DISPUTE_OUTCOMES, Dispute
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

CST = timezone(timedelta(hours=8), "CST")  # the deadline as the resident reads it
MAX_REASON = 1000
MAX_EVIDENCE = 4000
MAX_NOTE = 1000
CORRECTABLE = ("type", "severity", "amount_fen", "quantity", "occurred_at")

_OUTCOME_TEXT = {
    "upheld": ("经核查，该记录准确，已恢复计入信用分。",
               "The record was found accurate and counts again."),
    "corrected": ("经核查，该记录已更正，按更正后的内容计入信用分。",
                  "The record was corrected and counts as corrected."),
    "removed": ("经核查，该记录已删除，不再计入信用分。",
                "The record was removed and no longer counts."),
}


def open_dispute(uow: UnitOfWork, resident: Resident, *, record_id: uuid.UUID, reason: str,
                 evidence: str | None, now: datetime, days: int) -> Dispute:
    """Dispute one of the resident's own records: it is marked under dispute and keeps
    counting until decided or its deadline passes."""
    session = uow.session
    reason_text = clean_text(reason, field="reason", max_len=MAX_REASON)
    evidence_text = clean_text(evidence, field="evidence", max_len=MAX_EVIDENCE, required=False)
    record = own_record(session, resident.id, record_id, lock=True)
    if record.status == "disputed":
        raise AlreadyDisputed("this record is already under dispute",
                              detail_zh="该记录正在异议处理中，请勿重复提交")
    if record.status != "active":
        raise NotDisputable(f"a {record.status} record cannot be disputed",
                            detail_zh="该记录已不计入信用分，无需提出异议",
                            record_status=record.status)
    dispute = Dispute(id=uuid.uuid4(), resident_id=resident.id, record_id=record.id,
                      reason=reason_text, evidence=evidence_text, status="open",
                      opened_at=now, due_at=now + timedelta(days=days))
    try:
        with session.begin_nested():
            session.add(dispute)
            session.flush()
    except IntegrityError:
        raise AlreadyDisputed("this record is already under dispute",
                              detail_zh="该记录正在异议处理中，请勿重复提交") from None
    actor = f"resident:{resident.id}"
    set_status(session, record, "disputed", actor=actor, now=now, reason=f"dispute {dispute.id}")
    audit.record(session, actor=actor, action="dispute.opened", now=now, subject=str(dispute.id),
                 data={"record_id": str(record.id), "due_at": iso(dispute.due_at)})
    uow.commit()
    return dispute


def mine(uow: UnitOfWork, resident_id: uuid.UUID, *, now: datetime) -> list[DisputeView]:
    """The resident's disputes as they see them, newest first. Reads only."""
    return [view(d, now) for d in uow.session.scalars(
        select(Dispute).where(Dispute.resident_id == resident_id)
        .order_by(Dispute.opened_at.desc(), Dispute.id))]


def queue(session: Session, *, now: datetime, status: str | None = "open",
          overdue: bool | None = None, limit: int = 100) -> list[Dispute]:
    """The operator queue, oldest deadline first."""
    stmt = select(Dispute)
    if status:
        stmt = stmt.where(Dispute.status == status)
    if overdue is True:
        stmt = stmt.where(Dispute.status == "open", Dispute.due_at <= now)
    elif overdue is False:
        stmt = stmt.where(Dispute.due_at > now)
    return list(session.scalars(stmt.order_by(Dispute.due_at, Dispute.id).limit(limit)))


def queue_item(d: Dispute, record: Record | None, now: datetime) -> dict[str, Any]:
    """One line of the operator queue: no reason, evidence or record detail (not logged)."""
    return {"id": str(d.id), "resident_id": str(d.resident_id), "record_id": str(d.record_id),
            "category": record.category if record else None, "status": d.status,
            "outcome": d.outcome, "opened_at": iso(d.opened_at), "due_at": iso(d.due_at),
            "overdue": d.status == "open" and d.due_at <= now,
            "resolved_at": iso(d.resolved_at)}


@dataclass(frozen=True)
class DisputeView:
    """The whole dispute as the resident sees it (and the operator's detail); JSON-ready, as
    the export holds it."""

    id: str
    record_id: str
    status: str
    reason: str
    evidence: str | None
    opened_at: str
    due_at: str
    overdue: bool
    outcome: str | None
    note: str | None
    correction: dict[str, Any] | None
    resolved_at: str | None


@dataclass(frozen=True)
class DisputeDetail(DisputeView):
    """What an operator opening a dispute sees: the dispute, whose it is, and its record."""

    resident_id: str
    record: dict[str, Any] | None


def view(d: Dispute, now: datetime) -> DisputeView:
    """The dispute as the resident sees it at `now` (overdue or not)."""
    return DisputeView(id=str(d.id), record_id=str(d.record_id), status=d.status,
                       reason=d.reason, evidence=d.evidence, opened_at=stamp(d.opened_at),
                       due_at=stamp(d.due_at), overdue=d.status == "open" and d.due_at <= now,
                       outcome=d.outcome, note=d.note, correction=d.correction,
                       resolved_at=iso(d.resolved_at))


def _missing(dispute_id: uuid.UUID) -> DisputeNotFound:
    return DisputeNotFound(f"no dispute {dispute_id}")


def _learned(d: Dispute) -> dict[str, Any]:
    return {"dispute_id": str(d.id), "record_id": str(d.record_id),
            "seen": ["dispute", "disputed_record"]}


def read(uow: UnitOfWork, dispute_id: uuid.UUID, *, operator: Operator,
         now: datetime) -> DisputeDetail:
    """An operator reads a dispute with its record; logged in the resident's access log."""
    session = uow.session
    d = opened(session, operator, Dispute, dispute_id, missing=_missing(dispute_id),
               access="dispute_read", learned=_learned, action="dispute.read", now=now)
    record = session.get(Record, d.record_id)
    uow.commit()
    return DisputeDetail(**asdict(view(d, now)), resident_id=str(d.resident_id),
                         record=record_summary(record) if record else None)


def _parse_time(value: Any) -> datetime | None:
    """An aware time in the supported calendar (`core.dates`), or None."""
    if isinstance(value, datetime):
        return value if value.tzinfo and dates.supported(value) else None
    return dates.parse_instant(value)


def _snapshot(record: Record) -> dict[str, Any]:
    return {"type": record.type, "severity": record.severity, "amount_fen": record.amount_fen,
            "quantity": record.quantity, "occurred_at": iso(record.occurred_at),
            "publicity_ends_at": iso(record.publicity_ends_at)}


def correct(record: Record, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Apply an operator's correction in place; the values before and after."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if not changes or unknown:
        raise InvalidCorrection(
            f"a correction changes one or more of {', '.join(CORRECTABLE)}"
            + (f"; not correctable: {', '.join(unknown)}" if unknown else ""))
    before = _snapshot(record)
    type_code = changes.get("type", record.type)
    rtype = record_type(record.category, type_code) if isinstance(type_code, str) else None
    if rtype is None:
        raise InvalidCorrection(f"{type_code!r} is not a type of {record.category}")
    occurred: datetime | None = record.occurred_at
    if "occurred_at" in changes:
        occurred = _parse_time(changes["occurred_at"])
    if occurred is None or occurred > now:
        raise InvalidCorrection("occurred_at must be an ISO 8601 time with a timezone, "
                                f"not in the future, in the years {dates.FIRST_YEAR}-"
                                f"{dates.LAST_YEAR}")
    amount = changes.get("amount_fen", record.amount_fen)
    if amount is not None and (type(amount) is not int or not 0 <= amount < 10**13):
        raise InvalidCorrection("amount_fen must be a non-negative integer or null")
    quantity = changes.get("quantity", record.quantity)
    if quantity is not None and (type(quantity) not in (int, float) or not 0 <= quantity <= 1e6):
        raise InvalidCorrection("quantity must be a non-negative number or null")
    if rtype.polarity == "negative":
        severity = changes.get("severity") or (
            record.severity if record.type == rtype.code else None) or rtype.default_severity
        if severity not in SEVERITIES:
            raise InvalidCorrection("severity must be minor, general or serious")
    elif changes.get("severity") is not None:
        raise InvalidCorrection("only negative records carry a severity")
    else:
        severity = None
    record.type, record.severity, record.occurred_at = rtype.code, severity, occurred
    record.amount_fen = amount
    record.quantity = None if quantity is None else float(quantity)
    record.publicity_ends_at = occurred + PUBLICITY[severity][1] if severity else None
    return {"before": before, "after": _snapshot(record)}


def resolve(uow: UnitOfWork, dispute_id: uuid.UUID, *, outcome: str, note: str,
            operator: Operator, now: datetime,
            correction: dict[str, Any] | None = None) -> Dispute:
    """Resolve an open dispute (reviewer or admin); the resident is notified."""
    if outcome not in DISPUTE_OUTCOMES:
        raise InvalidCorrection(f"outcome must be one of {', '.join(DISPUTE_OUTCOMES)}")
    note_text = clean_text(note, field="note", max_len=MAX_NOTE)
    if (outcome == "corrected") != bool(correction):
        raise InvalidCorrection("a correction is given with, and only with, outcome corrected")
    session = uow.session
    d = undecided(session, Dispute, dispute_id, missing=_missing(dispute_id), status="open",
                  decided=lambda d: f"this dispute was already resolved ({d.outcome})")
    record = session.scalars(select(Record).where(Record.id == d.record_id)
                             .with_for_update()).one()
    actor = f"operator:{operator.client_id}"
    if outcome == "corrected":
        assert correction is not None
        d.correction = correct(record, correction, now)
    new_status = "removed" if outcome == "removed" else "active"
    set_status(session, record, new_status, actor=actor, now=now,
               reason=f"dispute {d.id} {outcome}")
    d.status, d.outcome, d.note = "resolved", outcome, note_text
    d.resolved_at, d.resolved_by = now, actor
    if record.resident_id is not None:
        mark_stale(session, record.resident_id, now)
        rescore(session, record.resident_id, now)
    zh, en = _OUTCOME_TEXT[outcome]
    notify(session, resident_id=d.resident_id, kind="dispute_resolved",
           dedupe_key=f"dispute:{d.id}:resolved",
           title=("异议处理结果", "Your dispute was resolved"),
           body=(f"{zh} 说明：{note_text}", f"{en} Note: {note_text}"), now=now,
           data={"dispute_id": str(d.id), "record_id": str(d.record_id), "outcome": outcome})
    operator_acted(session, operator, resident_id=d.resident_id, access="dispute_resolved",
                   learned=_learned(d), action="dispute.resolved", subject=d.id, now=now,
                   data={"record_id": str(d.record_id), "outcome": outcome,
                         "corrected": sorted(correction) if correction else None})
    uow.commit()
    return d


@dataclass(frozen=True)
class DisputeMark:
    """One record under dispute as the score page shows it (异议标注)."""

    record_id: str
    dispute_id: str
    category: str
    type: str
    due_at: str
    counts: bool  # counts now (until the deadline); False once the deadline passed
    text: str


# A record under an open dispute, as the score page lists them (oldest deadline first).
_MARKED = (Record.id, Dispute.id, Record.category, Record.type, Dispute.due_at)
_MARK_ORDER = (Dispute.due_at, Dispute.id)


def _marked(resident_id: Any, *columns: Any) -> Select[Any]:
    return (select(*columns).select_from(Record)
            .join(Dispute, Dispute.record_id == Record.id)
            .where(Record.resident_id == resident_id, Record.status == "disputed",
                   Dispute.status == "open"))


_OPEN_MARKS = _marked(bindparam("resident"), *_MARKED).order_by(*_MARK_ORDER)


def open_marks(resident_id: Any) -> Select[Any]:
    """What `marks` reads, as one row of five arrays in its order (record ids, dispute ids,
    categories, types, deadlines; NULLs when there is none), for a statement that reads it
    with other things in one round trip (`scoring.read`, where `resident_id` is its column);
    `marks_of` turns the row into the marks."""
    return _marked(resident_id, *(func.array_agg(aggregate_order_by(c, *_MARK_ORDER))
                                  for c in _MARKED))


def marks(session: Session, resident_id: uuid.UUID, *, now: datetime,
          lang: str = "zh") -> list[DisputeMark]:
    """The resident's records under an open dispute, with what each means for the score now.
    Reads only."""
    rows = session.execute(_OPEN_MARKS, {"resident": resident_id}).all()
    return [_mark(*row, now=now, lang=lang) for row in rows]


def marks_of(arrays: tuple[Any, ...], *, now: datetime, lang: str = "zh") -> list[DisputeMark]:
    """`marks` from the row of `open_marks` (its times may be in any time zone)."""
    if arrays[0] is None:
        return []
    return [_mark(record_id, dispute_id, category, type_, utc(due_at), now=now, lang=lang)
            for record_id, dispute_id, category, type_, due_at in zip(*arrays, strict=True)]


def _mark(record_id: uuid.UUID, dispute_id: uuid.UUID, category: str, type_: str,
          due_at: datetime, *, now: datetime, lang: str) -> DisputeMark:
    rtype = record_type(category, type_)
    name = (rtype.name_zh if lang == "zh" else rtype.name_en) if rtype else type_
    due = due_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    counting = now < due_at
    if lang == "zh":
        text = (f"{name}：异议处理中（异议标注），处理完成前照常计入，处理期限 {due}。"
                if counting else
                f"{name}：异议处理中（异议标注），超过处理期限 {due} 仍未处理完成，"
                "自期限起暂不计入，处理完成后按结果计入。")
    else:
        text = (f"{name}: under dispute; it counts as before until an operator decides "
                f"(deadline {due})." if counting else
                f"{name}: under dispute; not decided by its deadline {due}, so it does not "
                "count from then until it is decided.")
    return DisputeMark(record_id=str(record_id), dispute_id=str(dispute_id), category=category,
                       type=type_, due_at=stamp(due_at), counts=counting, text=text)


def flag_overdue(uow: UnitOfWork, now: datetime, *, limit: int = 1000) -> int:
    """Record, once, that open disputes passed their deadline; the resident is told."""
    session = uow.session
    due = list(session.scalars(
        select(Dispute).where(Dispute.status == "open", Dispute.due_at <= now,
                              Dispute.overdue_flagged_at.is_(None))
        .order_by(Dispute.due_at).limit(limit)))
    flagged = 0
    for d in due:
        done = session.execute(
            update(Dispute).where(Dispute.id == d.id, Dispute.overdue_flagged_at.is_(None))
            .values(overdue_flagged_at=now).execution_options(synchronize_session=False))
        if not done.rowcount:  # type: ignore[attr-defined]
            continue  # another runner flagged it
        flagged += 1
        notify(session, resident_id=d.resident_id, kind="dispute_overdue",
               dedupe_key=f"dispute:{d.id}:overdue",
               title=("异议处理已超期", "Your dispute is overdue"),
               body=("您的异议处理已超过期限，我们正在督办；自期限起至处理完成，该记录暂不计入"
                     "信用分（记录仍标注为异议处理中）。",
                     "Your dispute passed its deadline and has been escalated; from the "
                     "deadline until it is decided the record does not count (it stays marked "
                     "under dispute)."), now=now,
               data={"dispute_id": str(d.id), "due_at": iso(d.due_at)})
        audit.record(session, actor="system", action="dispute.overdue", now=now,
                     subject=str(d.id), data={"due_at": iso(d.due_at)})
    uow.commit()
    return flagged
