"""Per-record validation of ingested records (pure: no app, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.idnumber import make
from core.records import Rejection, validate
from core.registry import CATEGORIES, PUBLICITY, publicity_end

NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ALL = frozenset(CATEGORIES)
NUMBER = make("440305", datetime(1990, 1, 2).date(), 7)


def good(**kw):
    return {"source_record_id": "r1", "id_number": NUMBER, "category": "traffic",
            "type": "violation", "occurred_at": "2026-10-01T12:00:00+08:00", **kw}


def test_a_negative_record_gets_its_default_severity_and_publicity_end():
    row = validate(good(), ALL, NOW)
    assert not isinstance(row, Rejection)
    assert row["severity"] == "minor"
    assert row["occurred_at"] == datetime(2026, 10, 1, 4, 0, tzinfo=UTC)
    assert row["publicity_ends_at"] == row["occurred_at"] + PUBLICITY["minor"][1]


def test_a_record_five_minutes_ahead_is_tolerated_but_not_six():
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert not isinstance(validate(good(occurred_at=ahead), ALL, NOW), Rejection)
    later = (NOW + timedelta(minutes=6)).isoformat()
    assert validate(good(occurred_at=later), ALL, NOW).code == "occurred_in_future"


def test_quantity_must_be_finite():
    for q in (float("nan"), float("inf"), 1e7):
        rej = validate(good(category="volunteer", type="service_hours", quantity=q), ALL, NOW)
        assert isinstance(rej, Rejection) and rej.code == "invalid_quantity"


def test_the_id_number_is_normalized_before_it_is_indexed():
    row = validate(good(id_number=" " + NUMBER.lower()), ALL, NOW)
    assert row["id_number"] == NUMBER


any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=3),
    max_leaves=10)


@given(st.dictionaries(st.sampled_from(sorted(good()) + ["amount_fen", "quantity", "severity",
                                                         "attributes", "x"]),
                       any_json, max_size=9) | any_json)
def test_validation_never_raises_and_either_accepts_or_names_a_code(raw):
    out = validate(raw, ALL, NOW)
    if isinstance(out, Rejection):
        assert out.code and out.detail
    else:
        assert out["category"] in CATEGORIES and out["occurred_at"] <= NOW + timedelta(minutes=5)


def test_a_non_string_category_or_type_is_rejected_not_raised():
    assert validate(good(category=["traffic"]), ALL, NOW).code == "unknown_category"
    assert validate(good(type={"violation": 1}), ALL, NOW).code == "unknown_type"


def test_attributes_with_nan_or_infinity_are_rejected():
    for bad in (float("nan"), float("inf")):
        assert validate(good(attributes={"a": bad}), ALL, NOW).code == "invalid_attributes"


def test_the_attribute_limit_counts_bytes_not_characters():
    assert not isinstance(validate(good(attributes={"n": "长" * 600}), ALL, NOW), Rejection)
    assert validate(good(attributes={"n": "长" * 700}), ALL, NOW).code == "attributes_too_large"


def test_a_record_types_severity_is_its_own_or_the_default_and_positive_ones_have_none():
    violation = CATEGORIES["traffic"].types["violation"]
    donation = CATEGORIES["blood_donation"].types["donation"]
    assert violation.severity_of(None) == "minor"
    assert violation.severity_of("serious") == "serious"
    assert donation.severity_of(None) is None
    assert donation.severity_of("serious") is None


def test_publicity_ends_after_the_severitys_longest_period_and_never_without_one():
    assert publicity_end(NOW, "general") == NOW + PUBLICITY["general"][1]
    assert publicity_end(NOW, None) is None
