"""Features from records: which records count, and one implementation for one or many."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from core.registry import CATEGORIES
from scoring import batch_from_records, compute_features
from scoring.features import RecordBatch, consent_row, to_epoch

from .conftest import AS_OF

ALL = list(CATEGORIES)


def rec(category, type_, days_ago, **kw):
    return {"category": category, "type": type_, "occurred_at": AS_OF - timedelta(days=days_ago),
            **kw}


def features(model, records, consented=ALL):
    x = compute_features(model, batch_from_records(records), consent_row(consented),
                         to_epoch(AS_OF))
    return dict(zip(model.feature_codes, x[0].tolist(), strict=True))


@pytest.mark.parametrize("status", ["disputed", "repaired", "expired", "removed"])
def test_disputed_repaired_expired_and_removed_records_never_count(model, status):
    f = features(model, [rec("traffic", "violation", 10, status=status)])
    assert f["traffic_violations_1y"] == 0
    assert features(model, [rec("traffic", "violation", 10)])["traffic_violations_1y"] == 1


def test_records_past_their_publicity_end_never_count(model):
    ended = rec("public_credit", "admin_penalty", 30, severity="general",
                publicity_ends_at=AS_OF - timedelta(days=1))
    assert features(model, [ended])["admin_penalties_3y"] == 0


def test_a_minor_record_stops_counting_after_its_maximum_publicity_period(model):
    assert features(model, [rec("traffic", "violation", 89)])["traffic_violations_1y"] == 1
    assert features(model, [rec("traffic", "violation", 91)])["traffic_violations_1y"] == 0


def test_unconsented_categories_never_count_and_are_unknown(model):
    records = [rec("traffic", "violation", 10), rec("volunteer", "service_hours", 5, quantity=4)]
    f = features(model, records, consented=["volunteer"])
    assert math.isnan(f["traffic_violations_1y"])
    assert f["volunteer_hours_2y"] == 4


def test_records_outside_the_window_or_in_the_future_do_not_count(model):
    f = features(model, [rec("blood_donation", "donation", 1096),
                         rec("blood_donation", "donation", -1),
                         rec("blood_donation", "donation", 100)])
    assert f["blood_donations_3y"] == 1


def test_each_aggregate_computes_what_it_says(model):
    f = features(model, [
        rec("tax", "arrears", 40, amount_fen=120_000), rec("tax", "arrears", 200, amount_fen=5),
        rec("volunteer", "service_hours", 3, quantity=2.5),
        rec("volunteer", "service_hours", 30, quantity=1.5),
        rec("judicial", "dishonest_debtor", 400), rec("judicial", "dishonest_debtor", 500),
        rec("public_credit", "admin_penalty", 50, severity="minor"),
        rec("public_credit", "admin_penalty", 100, severity="serious"),
    ])
    assert f["tax_arrears_amount_3y"] == 120_005
    assert f["volunteer_hours_2y"] == 4.0
    assert f["dishonest_debtor_listed"] == 1
    assert f["admin_penalty_worst_severity_3y"] == 2
    assert f["months_since_tax_arrears"] == 1
    assert f["months_since_debtor_listing"] == 13


def test_no_record_in_the_window_reads_as_at_least_the_window(model):
    f = features(model, [])
    assert f["months_since_admin_penalty"] == 36
    assert f["admin_penalty_worst_severity_3y"] == -1
    assert f["social_insurance_months_2y"] == 0


def test_the_batch_path_and_the_single_path_give_identical_features(model):
    from scoring.synthetic import generate_batch, generate_people

    people = generate_people(300, seed=11)
    batch = generate_batch(people, seed=11, statuses=True)
    as_of = to_epoch(AS_OF)
    x = compute_features(model, batch, people.consent, as_of)
    for i in range(0, 300, 7):
        sel = batch.resident == i
        one = RecordBatch(*(getattr(batch, k)[sel] for k in RecordBatch.__dataclass_fields__))
        one.resident = np.zeros(int(sel.sum()), dtype=np.int64)
        xi = compute_features(model, one, people.consent[i:i + 1], as_of)
        np.testing.assert_array_equal(xi[0], x[i])


def test_records_not_sorted_by_resident_are_refused(model):
    b = RecordBatch.empty()
    b.resident = np.array([1, 0])
    for k in ("category", "type", "occurred_at", "amount_fen", "severity", "status",
              "publicity_ends_at"):
        setattr(b, k, np.zeros(2, dtype=getattr(b, k).dtype))
    b.quantity = np.zeros(2)
    with pytest.raises(ValueError, match="sorted"):
        compute_features(model, b, np.ones((2, len(ALL)), bool), to_epoch(AS_OF))


def test_unregistered_record_types_are_rejected():
    with pytest.raises(ValueError, match="unregistered"):
        batch_from_records([rec("tax", "evasion", 1)])
