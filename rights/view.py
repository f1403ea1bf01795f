"""The resident's own records as they see them, and the checks every rights use case shares.

A record *counts* toward the score now when it is active (or under a dispute whose deadline has
not passed: a dispute marks a record, it does not erase it), has occurred, its publicity period
has not ended, the resident's scoring consent covers its category, and the active model reads
its type within the feature's window — the same rules `scoring/features.py` applies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.gate import scoring_categories
from core import audit
from core.db import UnitOfWork
from core.errors import DomainError, NotFound
from core.idempotency import iso
from core.identity import DataSource, Operator, Resident
from core.records import Record
from rights.errors import AlreadyDecided, InvalidText, RecordNotFound
from rights.models import Dispute, Repair, ReviewRequest
from scoring.spec import Model

Row = TypeVar("Row", Dispute, Repair, ReviewRequest)


def clean_text(value: str | None, *, field: str, max_len: int, required: bool = True
               ) -> str | None:
    """Trimmed text, or a refusal when it is required but blank, or longer than `max_len`."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidText(f"{field} must not be empty", detail_zh="请填写内容", field=field)
        return None
    if len(text) > max_len:
        raise InvalidText(f"{field} is longer than {max_len} characters",
                          detail_zh=f"内容不能超过 {max_len} 个字", field=field)
    return text


def stamp(value: datetime) -> str:
    """A time that is always set, as answers carry it (ISO 8601 with `Z`)."""
    return iso(value) or ""


def own_record(session: Session, resident_id: uuid.UUID, record_id: uuid.UUID,
               *, lock: bool = False) -> Record:
    """The resident's record `record_id`; someone else's is 'not found' (not 'forbidden')."""
    stmt = select(Record).where(Record.id == record_id, Record.resident_id == resident_id)
    record = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if record is None:
        raise RecordNotFound(f"you have no record {record_id}", detail_zh="未找到该记录")
    return record


def _model(session: Session) -> Model | None:
    from scoring.services import active_model

    try:
        return active_model(session)
    except NotFound:  # no active model: nothing counts
        return None


def counts(record: Record, now: datetime, consented: frozenset[str] | None,
           model: Model | None, *, dispute_due: datetime | None = None) -> bool:
    """Whether `record` counts toward the resident's score now; a disputed record counts until
    `dispute_due`, its open dispute's deadline."""
    if record.status == "disputed":
        if dispute_due is None or now >= dispute_due:
            return False
    elif record.status != "active":
        return False
    if record.occurred_at > now or model is None:
        return False
    if record.publicity_ends_at is not None and record.publicity_ends_at <= now:
        return False
    if consented is None or record.category not in consented:
        return False
    return any(f.category == record.category and record.type in f.types
               and record.occurred_at > now - timedelta(days=f.window_days)
               for f in model.features)


def rescore(session: Session, resident_id: uuid.UUID, now: datetime) -> None:
    """Recompute and store the resident's score now (added to the session, committed with the
    decision); nothing without a scoring consent."""
    from consent.gate import ConsentRequired
    from scoring.services import fresh_score

    resident = session.get(Resident, resident_id)
    if resident is None or resident.status != "active":
        return
    session.flush()
    session.refresh(resident)  # the score version the decision just bumped
    try:
        fresh_score(session, resident, now=now)
    except ConsentRequired:
        pass


def dispute_brief(d: Dispute, now: datetime) -> dict[str, Any]:
    return {"id": str(d.id), "status": d.status, "outcome": d.outcome, "due_at": iso(d.due_at),
            "overdue": d.status == "open" and d.due_at <= now}


def repair_brief(r: Repair) -> dict[str, Any]:
    return {"id": str(r.id), "status": r.status, "requested_at": iso(r.requested_at),
            "decided_at": iso(r.decided_at)}


def record_item(record: Record, source_name: str, *, counting: bool,
                dispute: dict[str, Any] | None = None,
                repair: dict[str, Any] | None = None) -> dict[str, Any]:
    """One record in the resident's list (JSON-ready)."""
    return {
        "id": str(record.id), "category": record.category, "type": record.type,
        "occurred_at": iso(record.occurred_at), "status": record.status,
        "severity": record.severity, "publicity_ends_at": iso(record.publicity_ends_at),
        "source": source_name, "amount_fen": record.amount_fen, "quantity": record.quantity,
        "counts": counting, "dispute": dispute, "repair": repair,
    }


def _latest_by_record(rows: list[Any]) -> dict[uuid.UUID, Any]:
    latest: dict[uuid.UUID, Any] = {}
    for row in rows:  # oldest first, so the newest wins
        latest[row.record_id] = row
    return latest


def records_for(uow: UnitOfWork, resident_id: uuid.UUID, *,
                now: datetime) -> list[dict[str, Any]]:
    """Every record held about the resident, newest first, with its dispute and repair.
    Reads only."""
    session = uow.session
    rows = session.execute(
        select(Record, DataSource.name).join(DataSource, DataSource.id == Record.source_id)
        .where(Record.resident_id == resident_id)
        .order_by(Record.occurred_at.desc(), Record.id)).all()
    disputes = _latest_by_record(list(session.scalars(
        select(Dispute).where(Dispute.resident_id == resident_id).order_by(Dispute.opened_at))))
    repairs = _latest_by_record(list(session.scalars(
        select(Repair).where(Repair.resident_id == resident_id).order_by(Repair.requested_at))))
    consented = scoring_categories(session, resident_id, now)
    model = _model(session)
    out = []
    for record, source_name in rows:
        d, r = disputes.get(record.id), repairs.get(record.id)
        due = d.due_at if d is not None and d.status == "open" else None
        out.append(record_item(
            record, source_name, counting=counts(record, now, consented, model, dispute_due=due),
            dispute=dispute_brief(d, now) if d else None, repair=repair_brief(r) if r else None))
    return out


def record_summary(record: Record) -> dict[str, Any]:
    """What an operator sees of a record (no personal fields: those live on the resident)."""
    return {"id": str(record.id), "category": record.category, "type": record.type,
            "occurred_at": iso(record.occurred_at), "status": record.status,
            "severity": record.severity, "amount_fen": record.amount_fen,
            "quantity": record.quantity, "publicity_ends_at": iso(record.publicity_ends_at),
            "source_record_id": record.source_record_id, "attributes": record.attributes}


# What an operator saw, as `learned.seen` in the access log: codes the resident's page names
# (`seen.<code>` in app/static/h5/i18n.json).
SEEN = frozenset({"dispute", "disputed_record", "repair_statement", "record", "review_reason",
                  "score_explanation", "eligibility_decision", "consent_history"})


def operator_read(session: Session, *, resident_id: uuid.UUID, operator: Operator, action: str,
                  learned: dict[str, Any], now: datetime) -> None:
    """Put an operator's read of the resident's data in the resident's access log (查询记录)."""
    from rewards.access import record_access

    if not set(learned.get("seen", ())) <= SEEN:
        raise ValueError(f"unregistered `seen` in {learned!r}: add it to SEEN")
    record_access(session, resident_id=resident_id, actor_kind="operator",
                  actor_id=operator.client_id, actor_name=operator.name, action=action,
                  outcome="read", learned=learned, now=now)


def find(session: Session, entity: type[Row], key: uuid.UUID, *, missing: DomainError,
         lock: bool = False) -> Row:
    """The queue item `key` (locked for update with `lock`); `missing` raised when there is none."""
    stmt = select(entity).where(entity.id == key)
    found = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if found is None:
        raise missing
    return found


def opened(session: Session, operator: Operator, entity: type[Row], key: uuid.UUID, *,
           missing: DomainError, access: str, learned: Callable[[Row], dict[str, Any]],
           action: str, now: datetime) -> Row:
    """An operator opens one queue item: the item, its read in the resident's access log
    (`access`) and in the audit log (`action`)."""
    found = find(session, entity, key, missing=missing)
    operator_acted(session, operator, resident_id=found.resident_id, access=access,
                   learned=learned(found), action=action, subject=found.id, now=now)
    return found


def undecided(session: Session, entity: type[Row], key: uuid.UUID, *, missing: DomainError,
              status: str, decided: Callable[[Row], str]) -> Row:
    """The queue item `key`, locked, while it still awaits a decision (`status`); otherwise
    `AlreadyDecided` with the text `decided(item)`."""
    found = find(session, entity, key, missing=missing, lock=True)
    if found.status != status:
        raise AlreadyDecided(decided(found))
    return found


def operator_acted(session: Session, operator: Operator, *, resident_id: uuid.UUID,
                   access: str, learned: dict[str, Any], action: str, subject: uuid.UUID,
                   now: datetime, data: dict[str, Any] | None = None) -> None:
    """An operator opened or decided one of the resident's items: the resident's access log
    (`access`, what was `learned`) and the audit log (`action` on `subject`)."""
    operator_read(session, resident_id=resident_id, operator=operator, action=access,
                  learned=learned, now=now)
    audit.record(session, actor=f"operator:{operator.client_id}", action=action, now=now,
                 subject=str(subject), data=data)
