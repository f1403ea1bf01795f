"""When time alone may change a score (`scoring.features.next_change`): never later than the
first change of the features, and at the instants the records name."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.registry import CATEGORIES, SEVERITIES
from scoring import batch_from_records, compute_features
from scoring.codes import NO_END, SECONDS_PER_DAY, TYPE_KEYS
from scoring.features import consent_row, next_change, to_epoch, valid_until

from .conftest import AS_OF

ALL = list(CATEGORIES)
T = to_epoch(AS_OF)


def features_at(model, records, t, consented=ALL):
    return compute_features(model, batch_from_records(records), consent_row(consented), t)[0]


def rec(category, type_, days_ago, **kw):
    return {"category": category, "type": type_, "occurred_at": AS_OF - timedelta(days=days_ago),
            **kw}


def test_no_records_never_change(model):
    assert valid_until(model, [], ALL, AS_OF) is None


def test_a_record_whose_publicity_ends_soon_changes_the_features_at_that_instant(model):
    ends = AS_OF + timedelta(days=3)
    records = [rec("public_credit", "admin_penalty", 20, severity="general",
                   publicity_ends_at=ends)]
    until = valid_until(model, records, ALL, AS_OF)
    assert until is not None and until <= ends
    # unchanged up to the edge found, changed once the publicity has ended
    assert np.array_equal(features_at(model, records, to_epoch(until) - 1),
                          features_at(model, records, T), equal_nan=True)
    assert not np.array_equal(features_at(model, records, to_epoch(ends)),
                              features_at(model, records, T), equal_nan=True)


def test_a_record_leaving_a_window_is_an_edge(model):
    window = min(f.window_days for f in model.features)
    records = [rec("traffic", "violation", window - 2, severity="minor",
                   publicity_ends_at=AS_OF + timedelta(days=400))]
    until = valid_until(model, records, ALL, AS_OF)
    assert until is not None and until <= AS_OF + timedelta(days=2)


def test_records_the_resident_did_not_consent_to_or_that_no_longer_count_are_no_edge(model):
    soon = AS_OF + timedelta(days=1)
    penalty = rec("public_credit", "admin_penalty", 20, severity="general", publicity_ends_at=soon)
    assert valid_until(model, [penalty], [c for c in ALL if c != "public_credit"], AS_OF) is None
    assert valid_until(model, [{**penalty, "status": "repaired"}], ALL, AS_OF) is None


def test_each_resident_of_a_batch_gets_its_own_edge(model):
    from scoring.features import RecordBatch

    one = batch_from_records([rec("public_credit", "admin_penalty", 20, severity="general",
                                  publicity_ends_at=AS_OF + timedelta(hours=5))], resident=0)
    two = batch_from_records([rec("public_credit", "admin_penalty", 20, severity="general",
                                  publicity_ends_at=AS_OF + timedelta(hours=9))], resident=2)
    both = RecordBatch(*(np.concatenate([getattr(one, k), getattr(two, k)])
                         for k in RecordBatch.__dataclass_fields__))
    edges = next_change(model, both, np.vstack([consent_row(ALL)] * 3), T)
    assert edges.tolist() == [T + 5 * 3600, NO_END, T + 9 * 3600]


_RECORD = st.fixed_dictionaries({
    "key": st.sampled_from(TYPE_KEYS),
    "days_ago": st.integers(min_value=-20, max_value=2000),
    "severity": st.sampled_from([None, *SEVERITIES]),
    "ends_in_days": st.one_of(st.none(), st.integers(min_value=-30, max_value=400)),
    "status": st.sampled_from(["active", "active", "active", "repaired"]),
})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(_RECORD, max_size=12),
       consented=st.sets(st.sampled_from(ALL), min_size=1),
       probes=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1,
                       max_size=6))
def test_the_features_do_not_change_before_the_edge(model, drawn, consented, probes):
    records = [{"category": d["key"][0], "type": d["key"][1],
                "occurred_at": AS_OF - timedelta(days=d["days_ago"]),
                "severity": d["severity"], "status": d["status"],
                "publicity_ends_at": None if d["ends_in_days"] is None
                else AS_OF + timedelta(days=d["ends_in_days"])} for d in drawn]
    edge = int(next_change(model, batch_from_records(records), consent_row(consented), T)[0])
    assert edge > T
    now = features_at(model, records, T, consented)
    horizon = min(edge, T + 3000 * SECONDS_PER_DAY)
    for p in [*probes, (horizon - 1 - T) / (horizon - T)]:
        t = T + int(p * (horizon - T))
        assert np.array_equal(features_at(model, records, t, consented), now, equal_nan=True), \
            (t - T, edge - T)
