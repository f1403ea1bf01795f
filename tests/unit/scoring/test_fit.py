"""Fitting a draft model: WOE bins, logistic regression, PDO scaling, same validator."""

from __future__ import annotations

import math

import numpy as np

from scoring import compute_features, parse_model, score_batch, validate_spec
from scoring import validation as v
from scoring.features import to_epoch
from scoring.fit import fit_spec, logistic_irls, monotone_bins
from scoring.synthetic import generate_batch, generate_people

from .conftest import AS_OF


def test_irls_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 2))
    p = 1 / (1 + np.exp(-(-1.0 + 0.8 * x[:, 0] - 1.5 * x[:, 1])))
    y = (rng.random(20_000) < p).astype(float)
    beta = logistic_irls(x, y)
    np.testing.assert_allclose(beta, [-1.0, 0.8, -1.5], atol=0.08)


def test_woe_bins_are_monotone_in_the_declared_direction():
    rng = np.random.default_rng(1)
    v_ = rng.integers(0, 25, 10_000).astype(float)
    y = (rng.random(10_000) < 0.3 - 0.01 * v_).astype(float)
    edges = monotone_bins(v_, y, "increasing", max_bins=5)
    idx = np.searchsorted(edges, v_, side="right")
    rate = [y[idx == k].mean() for k in range(len(edges) + 1)]
    assert 2 <= len(edges) + 1 <= 5
    assert rate == sorted(rate, reverse=True)  # more value → fewer bads → more points


def test_a_fitted_draft_passes_the_same_validator_and_ranks_risk(model):
    people = generate_people(30_000, seed=8)
    batch = generate_batch(people, seed=8)
    full = np.ones_like(people.consent)
    x = compute_features(model, batch, full, to_epoch(AS_OF))
    draft = fit_spec(model.raw, x, people.label, model_id="pengcheng-fit-test")
    assert validate_spec(draft) == []
    fitted = parse_model(draft)
    assert fitted.id == "pengcheng-fit-test" and draft["fit"]["pdo"] == 40
    cols = [model.feature_codes.index(c) for c in fitted.feature_codes]
    scores = score_batch(fitted, x[:, cols]).scores
    assert v.auc(scores, people.label) > 0.7
    # PDO scaling: the mean score sits near 600 + 40·log2(odds/50) at the population's odds
    odds = (1 - people.label.mean()) / people.label.mean()
    expected = 600 + 40 * math.log2(odds / 50)
    assert abs(np.mean(scores) - expected) < 60
