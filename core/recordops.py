"""Records the service writes itself, and record status changes.

* `scenario_performance` records (a 先诊后付 bill in default, a deposit never returned) are
  written by this service under its own internal data source, `src_pengcheng`, which has no
  usable API key. `write_internal` is idempotent by `source_record_id`.
* A status change (disputed, repaired, removed, active again) goes through `set_status`, which
  also marks the resident's score stale so the next read recomputes it (DESIGN §5.4).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput
from core.identity import DataSource, Resident
from core.records import Record
from core.registry import RECORD_STATUSES, publicity_end, record_type

INTERNAL_SOURCE = "src_pengcheng"


def internal_source(session: Session, now: datetime) -> DataSource:
    """The service's own data source (created on first use; its key can never authenticate)."""
    found = session.scalar(select(DataSource).where(DataSource.client_id == INTERNAL_SOURCE))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(DataSource(
                id=uuid.uuid4(), client_id=INTERNAL_SOURCE, name="鹏城分 (this service)",
                categories=["scenario_performance"], active=False, created_at=now,
                api_key_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest()))
    except IntegrityError:
        pass  # another transaction created it first
    return session.scalars(
        select(DataSource).where(DataSource.client_id == INTERNAL_SOURCE)).one()


def mark_stale(session: Session, resident_id: uuid.UUID, now: datetime) -> None:
    """Mark the resident's score stale (the next read recomputes it)."""
    resident = session.get(Resident, resident_id)
    if resident is not None:
        resident.score_stale_at = now


def write_internal(session: Session, *, resident_id: uuid.UUID, category: str, type: str,
                   source_record_id: str, occurred_at: datetime, now: datetime,
                   amount_fen: int | None = None, severity: str | None = None,
                   attributes: dict[str, Any] | None = None) -> Record:
    """Write (or find, by `source_record_id`) a record produced by this service."""
    rtype = record_type(category, type)
    if rtype is None:
        raise InvalidInput(f"unknown record type {category}/{type}")
    source = internal_source(session, now)
    found = session.scalar(select(Record).where(Record.source_id == source.id,
                                                Record.source_record_id == source_record_id))
    if found is not None:
        return found
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise InvalidInput("unknown resident")
    severity = rtype.severity_of(severity)
    record = Record(
        id=uuid.uuid4(), source_id=source.id, source_record_id=source_record_id,
        subject_index=resident.id_index, resident_id=resident_id, category=category, type=type,
        occurred_at=occurred_at, amount_fen=amount_fen, quantity=None, severity=severity,
        status="active", attributes=attributes, received_at=now,
        publicity_ends_at=publicity_end(occurred_at, severity))
    session.add(record)
    session.flush()
    mark_stale(session, resident_id, now)
    audit.record(session, actor="system", action="record.written", now=now,
                 subject=str(record.id), data={"category": category, "type": type})
    return record


def set_status(session: Session, record: Record, status: str, *, actor: str, now: datetime,
               reason: str | None = None) -> Record:
    """Change a record's status and mark its resident's score stale (audited)."""
    if status not in RECORD_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(RECORD_STATUSES)}")
    if record.status == status:
        return record
    before, record.status = record.status, status
    if record.resident_id is not None:
        mark_stale(session, record.resident_id, now)
    audit.record(session, actor=actor, action="record.status_changed", now=now,
                 subject=str(record.id), data={"from": before, "to": status,
                                               "reason": reason})
    return record
