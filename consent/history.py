"""Reading consent: a resident's records and events, receipts, and auditor exports.

Exports carry, for every event, the notice id, version and hash and the SHA-256 of the text in
the language shown; the JSON export also embeds each notice document, so an auditor can
recompute the hash and prove exactly which text the resident saw.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.errors import ConsentNotFound
from consent.gate import is_valid
from consent.models import ConsentEvent, ConsentRecord, Notice
from consent.notices import current, document, text_hash
from core.errors import NotFound

EXPORT_COLUMNS = ("seq", "event_id", "consent_id", "resident_id", "purpose", "event", "at",
                  "actor", "channel", "language", "categories", "reason", "notice_id",
                  "notice_version", "notice_hash", "text_sha256", "receipt")


def records_for(session: Session, resident_id: uuid.UUID) -> list[ConsentRecord]:
    """The resident's consent records, newest first."""
    return list(session.scalars(
        select(ConsentRecord).where(ConsentRecord.resident_id == resident_id)
        .order_by(ConsentRecord.given_at.desc(), ConsentRecord.id)))


def own_record(session: Session, resident_id: uuid.UUID, consent_id: uuid.UUID) -> ConsentRecord:
    record = session.get(ConsentRecord, consent_id)
    if record is None or record.resident_id != resident_id:
        raise ConsentNotFound(f"you have no consent {consent_id}", detail_zh="未找到该授权记录")
    return record


def events_for(session: Session, resident_id: uuid.UUID,
               consent_id: uuid.UUID | None = None) -> list[ConsentEvent]:
    """The resident's consent events in the order they happened."""
    stmt = select(ConsentEvent).where(ConsentEvent.resident_id == resident_id)
    if consent_id is not None:
        stmt = stmt.where(ConsentEvent.consent_id == consent_id)
    return list(session.scalars(stmt.order_by(ConsentEvent.seq)))


def receipts_of(session: Session, record: ConsentRecord) -> list[ConsentEvent]:
    """Events of `record` that carry a receipt, oldest first."""
    return list(session.scalars(
        select(ConsentEvent).where(ConsentEvent.consent_id == record.id,
                                   ConsentEvent.receipt.is_not(None))
        .order_by(ConsentEvent.seq)))


def reconsent_needed(session: Session, resident_id: uuid.UUID, now: datetime
                     ) -> list[dict[str, Any]]:
    """Purposes whose latest consent was invalidated or expired and not yet given again."""
    latest: dict[str, ConsentRecord] = {}
    for record in records_for(session, resident_id):
        latest.setdefault(record.purpose, record)
    out = []
    for purpose, record in sorted(latest.items()):
        lapsed = record.status in ("invalidated", "expired") or (
            record.status == "active" and not is_valid(session, record, now))
        notice = current(session, purpose) if lapsed else None
        if notice is not None:
            out.append({"purpose": purpose, "notice_id": notice.id,
                        "reason": "expired" if record.status != "invalidated" else "invalidated"})
    return out


@dataclass(frozen=True)
class Overview:
    """The resident's consents (newest first) and the purposes to ask them about again."""

    items: list[ConsentRecord]
    reconsent: list[dict[str, Any]]


def overview(session: Session, resident_id: uuid.UUID, now: datetime, *,
             status: str | None = None) -> Overview:
    """The resident's consents (those in `status`, if given) and what needs consent again."""
    items = records_for(session, resident_id)
    if status:
        items = [r for r in items if r.status == status]
    return Overview(items, reconsent_needed(session, resident_id, now))


@dataclass(frozen=True)
class Detail:
    """One consent record and its events, oldest first."""

    record: ConsentRecord
    events: list[ConsentEvent]


def detail(session: Session, resident_id: uuid.UUID, consent_id: uuid.UUID) -> Detail:
    """One of the resident's consents with its event history (ConsentNotFound if not theirs)."""
    record = own_record(session, resident_id, consent_id)
    return Detail(record, events_for(session, resident_id, consent_id))


@dataclass(frozen=True)
class Receipts:
    """Every receipt of one consent, oldest first; `latest` is the last of them."""

    consent_id: uuid.UUID
    receipts: list[ConsentEvent]

    @property
    def latest(self) -> ConsentEvent:
        return self.receipts[-1]


def receipts_for(session: Session, resident_id: uuid.UUID, consent_id: uuid.UUID) -> Receipts:
    """The receipts of one of the resident's consents (NotFound if it has none)."""
    record = own_record(session, resident_id, consent_id)
    found = receipts_of(session, record)
    if not found:
        raise NotFound("this consent has no receipt", detail_zh="该授权没有回执")
    return Receipts(record.id, found)


def _rows(session: Session, resident_id: uuid.UUID | None, since: datetime | None,
          until: datetime | None, after_seq: int, limit: int
          ) -> list[tuple[ConsentEvent, Notice]]:
    stmt = select(ConsentEvent, Notice).join(Notice, Notice.id == ConsentEvent.notice_id)
    if resident_id is not None:
        stmt = stmt.where(ConsentEvent.resident_id == resident_id)
    if since is not None:
        stmt = stmt.where(ConsentEvent.at >= since)
    if until is not None:
        stmt = stmt.where(ConsentEvent.at < until)
    stmt = stmt.where(ConsentEvent.seq > after_seq).order_by(ConsentEvent.seq).limit(limit)
    return [(e, n) for e, n in session.execute(stmt)]


def export_row(event: ConsentEvent, notice: Notice) -> dict[str, Any]:
    text = notice.text_en if event.language == "en" else notice.text_zh
    return {
        "seq": event.seq, "event_id": str(event.id), "consent_id": str(event.consent_id),
        "resident_id": str(event.resident_id), "purpose": event.purpose, "event": event.event,
        "at": event.at.isoformat(), "actor": event.actor, "channel": event.channel,
        "language": event.language, "categories": list(event.categories),
        "reason": event.reason, "notice_id": str(notice.id), "notice_version": notice.version,
        "notice_hash": event.notice_hash, "text_sha256": text_hash(text),
        "receipt": event.receipt,
    }


def export_json(session: Session, *, resident_id: uuid.UUID | None = None,
                since: datetime | None = None, until: datetime | None = None,
                after_seq: int = 0, limit: int = 10_000) -> dict[str, Any]:
    """Consent events with the notice documents they refer to (page with `after_seq`)."""
    rows = _rows(session, resident_id, since, until, after_seq, limit)
    notices: dict[str, Any] = {}
    for _event, notice in rows:
        notices.setdefault(str(notice.id), {**document(notice), "id": str(notice.id),
                                            "hash": notice.hash})
    events = [export_row(e, n) for e, n in rows]
    return {"events": events, "notices": notices,
            "next_after_seq": events[-1]["seq"] if len(events) == limit else None,
            "hash_algorithm": "SHA-256 over canonical JSON (sorted keys, no spaces, UTF-8) "
                              "of the notice document without id and hash"}


def export_csv(session: Session, *, resident_id: uuid.UUID | None = None,
               since: datetime | None = None, until: datetime | None = None,
               batch: int = 5_000) -> Iterator[str]:
    """CSV lines (header first) of every matching consent event, streamed in batches."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    after = 0
    while True:
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        rows = _rows(session, resident_id, since, until, after, batch)
        for event, notice in rows:
            row = export_row(event, notice)
            row["categories"] = " ".join(row["categories"])
            writer.writerow(row)
        if len(rows) < batch:
            yield buffer.getvalue()
            return
        after = rows[-1][0].seq
