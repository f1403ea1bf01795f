"""The consent answers render the use cases' dataclasses (no app, no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.api.consent.schemas import ConsentDetailSchema, ConsentReceiptOutSchema
from consent.history import Detail
from consent.models import ConsentEvent, ConsentRecord
from consent.services import Outcome

AT = datetime(2026, 11, 1, 8, tzinfo=UTC)


def _record() -> ConsentRecord:
    return ConsentRecord(id=uuid.uuid4(), resident_id=uuid.uuid4(), purpose="scoring",
                         notice_id=uuid.uuid4(), categories=["tax"], separate_consent=False,
                         status="active", given_at=AT, expires_at=None, ended_at=None)


def _event(record: ConsentRecord, receipt: str | None) -> ConsentEvent:
    return ConsentEvent(id=uuid.uuid4(), consent_id=record.id, resident_id=record.resident_id,
                        purpose=record.purpose, event="given", at=AT, actor="resident:x",
                        channel="api", notice_id=record.notice_id, notice_hash="h",
                        language="zh", categories=["tax"], reason=None, receipt=receipt)


def test_a_grant_answers_the_consent_and_its_receipt():
    record = _record()
    outcome = Outcome(record, _event(record, "r.e.c"), "r.e.c", created=True)
    assert ConsentReceiptOutSchema().dump(outcome) == {
        "consent_id": str(record.id), "receipt": "r.e.c", "event": "given",
        "status": "active", "purpose": "scoring", "categories": ["tax"], "created": True}


def test_an_outcome_without_an_event_answers_a_null_event():
    outcome = Outcome(_record(), None, None, created=False)
    answer = ConsentReceiptOutSchema().dump(outcome)
    assert answer["event"] is None and answer["receipt"] is None and not answer["created"]


def test_a_consent_detail_lists_its_events_and_whether_they_carry_a_receipt():
    record = _record()
    answer = ConsentDetailSchema().dump(Detail(record, [_event(record, None)]))
    assert answer["consent_id"] == str(record.id)
    assert answer["given_at"] == "2026-11-01T08:00:00+00:00" and answer["ended_at"] is None
    assert [(e["event"], e["has_receipt"]) for e in answer["events"]] == [("given", False)]
