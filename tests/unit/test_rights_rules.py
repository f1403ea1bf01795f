"""Pure rules of the rights package: texts, whether a record counts, corrections, the schema."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jsonschema_rs
import pytest

from core.records import Record
from rights.disputes import correct
from rights.errors import InvalidCorrection, InvalidText
from rights.export import PROVIDERS, SCHEMA
from rights.repair import PLEDGE, PLEDGE_HASH
from rights.view import clean_text, counts
from scoring.spec import load_model

NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
MODEL = load_model("pengcheng-v1")
ALL = frozenset({"public_credit", "utilities", "traffic", "tax"})


def record(**overrides) -> Record:
    values = {"id": uuid.uuid4(), "category": "utilities", "type": "payment_overdue",
              "occurred_at": NOW - timedelta(days=30), "amount_fen": 100, "quantity": None,
              "severity": "minor", "status": "active",
              "publicity_ends_at": NOW + timedelta(days=60), "attributes": None}
    values.update(overrides)
    return Record(**values)


def test_text_is_trimmed_and_refused_when_blank_or_too_long():
    assert clean_text("  理由  ", field="reason", max_len=10) == "理由"
    assert clean_text("  ", field="evidence", max_len=10, required=False) is None
    with pytest.raises(InvalidText):
        clean_text(" \n ", field="reason", max_len=10)
    with pytest.raises(InvalidText):
        clean_text("x" * 11, field="reason", max_len=10)


def test_an_active_consented_record_inside_a_window_counts():
    assert counts(record(), NOW, ALL, MODEL) is True


@pytest.mark.parametrize("change", [
    {"status": "disputed"}, {"status": "repaired"}, {"status": "removed"},
    {"publicity_ends_at": NOW}, {"occurred_at": NOW + timedelta(hours=1)},
    {"occurred_at": NOW - timedelta(days=400), "publicity_ends_at": None},
])
def test_a_record_that_is_not_active_public_or_in_a_window_does_not_count(change):
    assert counts(record(**change), NOW, ALL, MODEL) is False


def test_a_record_outside_the_scoring_consent_does_not_count():
    assert counts(record(), NOW, frozenset({"tax"}), MODEL) is False
    assert counts(record(), NOW, None, MODEL) is False
    assert counts(record(), NOW, ALL, None) is False


def test_a_correction_to_a_positive_type_drops_severity_and_publicity():
    r = record()
    change = correct(r, {"type": "payment_on_time"}, NOW)
    assert (r.type, r.severity, r.publicity_ends_at) == ("payment_on_time", None, None)
    assert change["before"]["type"] == "payment_overdue"
    assert change["after"]["type"] == "payment_on_time"


def test_a_correction_of_severity_or_date_recomputes_the_publicity_end():
    r = record(category="public_credit", type="admin_penalty", severity="general")
    correct(r, {"severity": "serious", "occurred_at": "2026-01-01T00:00:00Z"}, NOW)
    assert r.severity == "serious"
    assert r.publicity_ends_at == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=3 * 365)


@pytest.mark.parametrize("change", [
    {}, {"status": "active"}, {"type": "arrears"}, {"severity": "bad"},
    {"amount_fen": -1}, {"amount_fen": True}, {"quantity": "many"},
    {"occurred_at": "yesterday"}, {"occurred_at": "2026-01-01T00:00:00"},
    {"type": "payment_on_time", "severity": "minor"},
])
def test_a_bad_correction_is_refused_without_touching_the_record(change):
    r = record()
    with pytest.raises(InvalidCorrection):
        correct(r, change, NOW)
    assert (r.type, r.severity, r.amount_fen) == ("payment_overdue", "minor", 100)


def test_the_export_schema_is_valid_and_requires_every_provider_section():
    assert jsonschema_rs.meta.is_valid(SCHEMA)
    sections = SCHEMA["properties"]["sections"]["required"]
    assert sections == [p.split(".")[-2] for p in PROVIDERS] == ["credit", "waivers", "points"]


def test_the_pledge_hash_names_exactly_the_pledge_text():
    import hashlib

    text = PLEDGE["zh"] + "\n" + PLEDGE["en"]
    assert PLEDGE_HASH == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("asked", "listed"), [(None, "pending"), ("all", None),
                                               ("approved", "approved")])
def test_a_queue_lists_its_default_status_unless_asked_and_all_lists_every_status(asked, listed):
    from dataclasses import replace

    from rights.queues import QUEUES

    seen: list[object] = []
    queue = replace(QUEUES["repairs"],
                    lines=lambda _session, status, _limit, _now, _overdue: seen.append(status))

    class Unit:
        session = None

    queue.items(Unit(), status=asked, limit=10, now=NOW)  # type: ignore[arg-type]
    assert seen == [listed]


def test_disputes_are_resolved_and_repairs_and_reviews_decided():
    from rights.queues import QUEUES

    assert {name: q.verb for name, q in QUEUES.items()} == {
        "disputes": "resolve", "repairs": "decide", "reviews": "decide"}
