"""Points and scores: the plain-Python path and the numpy path agree exactly."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scoring import score_batch, score_one
from scoring.engine import scored_row
from scoring.spec import load_model

MODEL = load_model("pengcheng-v1")
N_FEATURES = len(MODEL.features)

values = st.one_of(
    st.just(math.nan),
    st.integers(-2, 130).map(float),
    st.floats(-10, 2_000_000, allow_nan=False),
    st.sampled_from([e for f in MODEL.features for e in f.edges]),  # exactly on an edge
)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 40), st.just(N_FEATURES)), elements=values))
def test_single_and_batch_scoring_agree_on_random_inputs(x):
    batch = score_batch(MODEL, x, chunk=7)
    for i in range(x.shape[0]):
        assert score_one(MODEL, x[i].tolist()) == scored_row(batch, i)


def test_threaded_batch_scoring_matches_sequential():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 40, (5000, N_FEATURES)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    a, b = score_batch(MODEL, x, chunk=512), score_batch(MODEL, x, chunk=512, threads=2)
    for k in ("scores", "bins", "points", "reasons"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_the_score_is_base_points_plus_feature_points():
    x = [0.0] * N_FEATURES
    s = score_one(MODEL, x)
    assert s.score == MODEL.base_points + sum(s.points)


def test_reasons_are_at_most_four_ranked_by_points_lost():
    x = [0.0] * N_FEATURES
    s = score_one(MODEL, x)
    lost = [MODEL.features[j].max_points - s.points[j] for j in s.reasons]
    assert 0 < len(s.reasons) <= 4
    assert lost == sorted(lost, reverse=True)
    every_loss = sorted((f.max_points - p for f, p in zip(MODEL.features, s.points,
                                                            strict=True)), reverse=True)
    assert lost == every_loss[:4]


def test_unknown_features_earn_unknown_points_and_are_never_reasons():
    s = score_one(MODEL, [math.nan] * N_FEATURES)
    assert s.reasons == ()
    assert set(s.bins) == {-1}
    assert s.score == MODEL.base_points + sum(f.unknown_points for f in MODEL.features)


def test_a_resident_at_every_maximum_has_no_reasons():
    best = []
    for f in MODEL.features:
        b = f.points.index(f.max_points)
        best.append(f.edges[b - 1] if b else f.edges[0] - 1)
    s = score_one(MODEL, best)
    assert s.reasons == ()
    assert s.score == MODEL.score_range[1]
