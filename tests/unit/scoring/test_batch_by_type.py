"""The batch path's fast forms give exactly what the general ones give: records grouped by type
(`ByType`) the same features, edges and scores as records sorted by resident; the inputs built
a chunk at a time the same text and hash as `stored_inputs` one resident at a time."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from scoring import score_batch
from scoring.batch_records import _PG_ROW, NULL_TIME, _seconds
from scoring.batch_rows import new_ids, stored_inputs_many
from scoring.codes import CATEGORY_CODES
from scoring.explain import stored_inputs
from scoring.features import (
    ByType,
    RecordBatch,
    by_type,
    compute_features,
    in_type_order,
    next_change,
    scoring_scope,
    to_epoch,
)
from scoring.synthetic import generate_batch, generate_people

from .conftest import AS_OF

FIELDS = tuple(RecordBatch.__dataclass_fields__)


@pytest.fixture(scope="module")
def population():
    people = generate_people(3000, seed=3)
    return people, generate_batch(people, seed=3, statuses=True)


@pytest.mark.parametrize("days", [0, -400, 200])
def test_records_grouped_by_type_give_the_same_features_edges_and_scores(model, population,
                                                                        days):
    people, batch = population
    grouped = by_type(batch)
    assert isinstance(grouped, ByType) and in_type_order(grouped)
    assert not np.all(np.diff(grouped.resident) >= 0)  # not in resident order any more
    as_of = to_epoch(AS_OF + timedelta(days=days))
    x = compute_features(model, batch, people.consent, as_of)
    np.testing.assert_array_equal(compute_features(model, grouped, people.consent, as_of), x)
    np.testing.assert_array_equal(next_change(model, grouped, people.consent, as_of),
                                  next_change(model, batch, people.consent, as_of))
    np.testing.assert_array_equal(
        score_batch(model, compute_features(model, grouped, people.consent, as_of)).scores,
        score_batch(model, x).scores)


def test_a_resident_without_records_and_an_empty_batch_read_the_same_grouped(model):
    consent = np.ones((2, len(CATEGORY_CODES)), dtype=bool)
    empty = ByType.empty()
    as_of = to_epoch(AS_OF)
    np.testing.assert_array_equal(
        compute_features(model, empty, consent, as_of),
        compute_features(model, RecordBatch.empty(), consent, as_of))
    np.testing.assert_array_equal(next_change(model, empty, consent, as_of),
                                  next_change(model, RecordBatch.empty(), consent, as_of))


def test_records_out_of_type_order_are_refused(model, population):
    people, batch = population
    grouped = by_type(batch)
    as_of = to_epoch(AS_OF)
    # a batch sorted by resident, labelled as grouped by type
    with pytest.raises(ValueError, match="by type"):
        compute_features(model, ByType(*(getattr(batch, k) for k in FIELDS)), people.consent,
                         as_of)
    # two records of one type swapped: still grouped, no longer in resident order inside it
    t = int(grouped.type[0])
    run = np.flatnonzero(grouped.type == t)
    lo = run[np.flatnonzero(np.diff(grouped.resident[run]) > 0)[0]]
    swapped = np.arange(len(grouped))
    swapped[[lo, lo + 1]] = swapped[[lo + 1, lo]]
    bad = ByType(*(getattr(grouped, k)[swapped] for k in FIELDS))
    assert not in_type_order(bad)
    with pytest.raises(ValueError, match="by type"):
        compute_features(model, bad, people.consent, as_of)


def test_the_inputs_of_a_chunk_are_the_single_path_inputs_byte_for_byte(model):
    rng = np.random.default_rng(5)
    n = 400
    x = rng.integers(0, 40, size=(n, len(model.features))).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, 6] = rng.integers(0, 10**12, size=n)  # amounts in fen: large whole numbers
    x[:, 14] = [round(v, i % 4) for i, v in enumerate(rng.random(n) * 50)]  # hours
    x[:9, 3] = [-0.0, 2.0**53, 2.0**53 - 1, 1e300, 0.1, -3, 9999, 10_000, -2.5]
    scopes = [scoring_scope(c) for c in ([], ["utilities"], ["traffic", "tax", "rental"])]
    consented = [scopes[i % 3] for i in range(n)]
    as_of = to_epoch(AS_OF) + 7  # not a whole minute
    texts, digests = stored_inputs_many(model, x, consented, as_of)
    for i in range(n):
        assert (texts[i], digests[i]) == stored_inputs(model, x[i].tolist(), consented[i], as_of)
    json.loads(texts[0])


def test_an_infinite_feature_is_refused_as_the_single_path_refuses_it(model):
    x = np.zeros((1, len(model.features)))
    x[0, 2] = np.inf
    with pytest.raises(ValueError):
        stored_inputs(model, x[0].tolist(), scoring_scope([]), 0)
    with pytest.raises(ValueError):
        stored_inputs_many(model, x, [scoring_scope([])], 0)


def test_new_ids_are_distinct_version_4_uuids():
    ids = new_ids(1000)
    parsed = [uuid.UUID(hex=i) for i in ids]
    assert len(set(parsed)) == 1000
    assert {(u.version, u.variant) for u in parsed} == {(4, uuid.RFC_4122)}


def test_database_times_become_the_epoch_seconds_python_gives_them():
    """Microseconds since 2000 (as PostgreSQL sends them, big-endian in a row) → epoch seconds
    truncated toward zero like ``int(dt.timestamp())``, before 1970 and at the edges too; no
    time (-infinity) → `NULL_TIME`."""
    pg_epoch = datetime(2000, 1, 1, tzinfo=UTC)
    times = [datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
             datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
             datetime(1960, 5, 1, 0, 0, 0, 999_999, tzinfo=UTC),
             datetime(1970, 1, 1, tzinfo=UTC),
             datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
             datetime(2026, 11, 1, 12, 30, 5, 999_999, tzinfo=UTC),
             datetime(2199, 1, 1, tzinfo=UTC)]
    us = [(t - pg_epoch) // timedelta(microseconds=1) for t in times]
    rows = np.zeros(len(us) + 1, dtype=_PG_ROW)
    rows["occurred_at"] = [*us, np.iinfo(np.int64).min]
    assert _seconds(rows["occurred_at"]).tolist() == [
        int(t.timestamp()) for t in times] + [NULL_TIME]
    after = rows[3:-1]["occurred_at"]  # all after 1970, none missing
    assert _seconds(after).tolist() == [int(t.timestamp()) for t in times[3:]]
