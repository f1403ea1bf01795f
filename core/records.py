"""Records pushed by data sources, and their ingestion.

Each record is validated on its own: a bad one is rejected with a stable code while the rest of
the batch is accepted. `(source, source_record_id)` is unique in the database, so a retried batch
counts its records as duplicates instead of storing them twice. Records of people who have not
logged in yet are kept under the blind index of their ID number and belong to them at first login.
So are records re-sent for an erased account: they join it only if the person signs in again
(`core.identity.reopen_resident`); a record the erasure kept is a duplicate of itself.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    any_,
    bindparam,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, dates
from core.crypto import Keyring
from core.db import Base, UnitOfWork
from core.idnumber import is_valid, normalize
from core.registry import BANNED_INPUTS, CATEGORIES, SEVERITIES, publicity_end

MAX_BATCH = 1000
MAX_ATTRIBUTES_BYTES = 2048
FIELDS = frozenset({"source_record_id", "id_number", "category", "type", "occurred_at",
                    "amount_fen", "quantity", "severity", "attributes"})


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("source_id", "source_record_id", name="uq_records_source_record"),
        CheckConstraint("amount_fen IS NULL OR amount_fen >= 0", name="amount_nonnegative"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_nonnegative"),
        CheckConstraint("severity IS NULL OR severity IN ('minor','general','serious')",
                        name="severity"),
        CheckConstraint(
            "status IN ('active','disputed','repaired','expired','removed')", name="status"),
        Index("ix_records_resident_occurred", "resident_id", "occurred_at"),
        # the score read's marks (`rights.disputes.marks`): the few records under dispute
        Index("ix_records_disputed", "resident_id", postgresql_where=text("status = 'disputed'")),
        # `pc_exclusions` (every token and partner write): the rare 失信被执行人 records
        Index("ix_records_dishonest_debtor", "resident_id", postgresql_where=text(
            "category = 'judicial' AND type = 'dishonest_debtor'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_sources.id"))
    source_record_id: Mapped[str] = mapped_column(String(100))
    subject_index: Mapped[str] = mapped_column(String(64), index=True)
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    category: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[float | None]
    severity: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="active")
    publicity_ends_at: Mapped[datetime | None]
    attributes: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime]


@dataclass
class Rejection:
    index: int
    code: str
    detail: str


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def validate(raw: Any, granted: frozenset[str], now: datetime) -> dict[str, Any] | Rejection:
    """One record's row values, or the reason it is rejected (index filled by the caller)."""
    def no(code: str, detail: str) -> Rejection:
        return Rejection(-1, code, detail)

    if not isinstance(raw, dict):
        return no("not_an_object", "each record must be a JSON object")
    extra = set(raw) - FIELDS
    if extra:
        return no("unknown_field", f"unknown fields: {', '.join(sorted(map(str, extra)))}")
    srid = raw.get("source_record_id")
    if not isinstance(srid, str) or not 1 <= len(srid) <= 100:
        return no("invalid_source_record_id", "source_record_id must be a string of 1-100 chars")
    if not is_valid(raw.get("id_number")):
        return no("invalid_id_number", "id_number is not a valid 18-digit ID number (GB 11643)")
    code = raw.get("category")
    category = CATEGORIES.get(code) if isinstance(code, str) else None
    if category is None:
        return no("unknown_category", f"unknown category {raw.get('category')!r}")
    if category.code not in granted:
        return no("category_not_granted", f"this source may not push {category.code!r} records")
    type_code = raw.get("type")
    rtype = category.types.get(type_code) if isinstance(type_code, str) else None
    if rtype is None:
        return no("unknown_type", f"unknown type {raw.get('type')!r} in {category.code!r}")
    occurred = dates.parse_instant(raw.get("occurred_at"))
    if occurred is None:
        return no("invalid_occurred_at", "occurred_at must be ISO 8601 with a timezone, "
                  f"in the years {dates.FIRST_YEAR}-{dates.LAST_YEAR}")
    if occurred > now + timedelta(minutes=5):
        return no("occurred_in_future", "occurred_at is in the future")
    amount = raw.get("amount_fen")
    if amount is not None and (type(amount) is not int or not 0 <= amount < 10**13):
        return no("invalid_amount", "amount_fen must be a non-negative integer (fen)")
    quantity = raw.get("quantity")
    if quantity is not None and (
        type(quantity) not in (int, float) or not 0 <= quantity <= 1e6 or quantity != quantity
    ):
        return no("invalid_quantity", "quantity must be a non-negative number")
    if rtype.quantity and quantity is None:
        return no("quantity_required", f"{rtype.code!r} records need a quantity")
    given = raw.get("severity")
    if rtype.polarity != "negative" and given is not None:
        return no("severity_not_applicable", "only negative records carry a severity")
    severity = rtype.severity_of(given)
    if rtype.polarity == "negative" and severity not in SEVERITIES:
        return no("invalid_severity", "severity must be minor, general or serious")
    attributes = raw.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            return no("invalid_attributes", "attributes must be an object")
        banned = {str(k).lower() for k in attributes} & BANNED_INPUTS
        if banned:
            return no("banned_attribute",
                      f"attributes may never carry {', '.join(sorted(banned))}")
        try:
            # NaN and Infinity parse from JSON bodies but PostgreSQL's json type refuses them.
            size = len(json.dumps(attributes, ensure_ascii=False, allow_nan=False).encode())
        except (ValueError, RecursionError):
            return no("invalid_attributes", "attributes must be plain JSON (no NaN/Infinity)")
        if size > MAX_ATTRIBUTES_BYTES:
            return no("attributes_too_large", f"attributes exceed {MAX_ATTRIBUTES_BYTES} bytes")
    publicity = publicity_end(occurred, severity)
    return {
        "source_record_id": srid, "id_number": normalize(raw["id_number"]),
        "category": category.code, "type": rtype.code, "occurred_at": occurred,
        "amount_fen": amount, "quantity": None if quantity is None else float(quantity),
        "severity": severity, "publicity_ends_at": publicity, "attributes": attributes,
    }


# One statement, one round trip, a short query text (psycopg caches its parse): the batch goes
# as one array per column, owners are joined from the blind index in the same statement.
_PG_INSERT = """
INSERT INTO records (id, source_id, source_record_id, subject_index, resident_id, category,
                     type, occurred_at, amount_fen, quantity, severity, status,
                     publicity_ends_at, attributes, received_at)
SELECT * FROM (
  SELECT b.id, %(source_id)s::uuid, b.srid, b.subj, r.id, b.cat, b.typ, b.occ, b.amt, b.qty,
         b.sev, 'active', b.pub, b.attrs::json, %(now)s::timestamptz
  FROM unnest(%(srid)s::text[], %(subj)s::text[], %(cat)s::text[], %(typ)s::text[],
              %(occ)s::timestamptz[], %(amt)s::bigint[], %(qty)s::float8[], %(sev)s::text[],
              %(pub)s::timestamptz[], %(attrs)s::text[], %(ids)s::uuid[])
       AS b(srid, subj, cat, typ, occ, amt, qty, sev, pub, attrs, id)
  LEFT JOIN residents r ON r.id_index = b.subj AND r.status = 'active'
) AS batch
ON CONFLICT (source_id, source_record_id) DO NOTHING
RETURNING resident_id
"""


def _insert(session: Session, rows: list[dict[str, Any]], *, source_id: uuid.UUID,
                       now: datetime) -> list[uuid.UUID | None]:
    def column(key: str) -> list[Any]:
        return [r[key] for r in rows]

    params = {
        "source_id": source_id, "now": now, "srid": column("source_record_id"),
        "subj": column("subject_index"), "cat": column("category"), "typ": column("type"),
        "occ": column("occurred_at"), "amt": column("amount_fen"), "qty": column("quantity"),
        "sev": column("severity"), "pub": column("publicity_ends_at"),
        "attrs": [None if r["attributes"] is None else json.dumps(r["attributes"])
                  for r in rows],
        "ids": [uuid.uuid4() for _ in rows],
    }
    result = session.connection().exec_driver_sql(_PG_INSERT, params)
    return [row[0] for row in result.fetchall()]


def ingest(uow: UnitOfWork, keyring: Keyring, *, source_id: uuid.UUID, source_client_id: str,
           granted: list[str], records: list[Any], now: datetime) -> IngestResult:
    """Validate and store a batch in one transaction; marks the affected residents stale."""
    session = uow.session
    result = IngestResult()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    grants = frozenset(granted)
    for index, raw in enumerate(records):
        checked = validate(raw, grants, now)
        if isinstance(checked, Rejection):
            checked.index = index
            result.rejected.append(checked)
            continue
        if checked["source_record_id"] in seen:
            result.duplicates += 1
            continue
        seen.add(checked["source_record_id"])
        checked["subject_index"] = keyring.blind_index(checked.pop("id_number"))
        rows.append(checked)
    if rows:
        from core.identity import Resident

        inserted = _insert(session, rows, source_id=source_id, now=now)
        result.accepted = len(inserted)
        result.duplicates += len(rows) - len(inserted)
        touched = sorted({r for r in inserted if r is not None})
        if touched:
            which = Resident.id == any_(bindparam("touched", touched, type_=ARRAY(Uuid())))
            session.execute(update(Resident).where(which)
                            .values(score_stale_at=now,
                                    score_version=Resident.score_version + 1))
    audit.record(session, actor=f"source:{source_client_id}", action="records.ingested",
                 now=now, data={"accepted": result.accepted, "duplicates": result.duplicates,
                                "rejected": len(result.rejected)})
    uow.commit()
    return result


def claim_pending(session: Session, resident: Any) -> int:
    """Give a new resident the records that arrived under their blind index before login."""
    res = session.execute(
        update(Record)
        .where(Record.subject_index == resident.id_index, Record.resident_id.is_(None))
        .values(resident_id=resident.id)
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]
