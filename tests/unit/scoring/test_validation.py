"""Validation metrics and the HTML report."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import compute_features, score_batch
from scoring import validation as v
from scoring.features import to_epoch
from scoring.report import write_report
from scoring.synthetic import DISTRICTS, generate_batch, generate_people

from .conftest import AS_OF


def test_auc_counts_ties_as_half_and_gini_follows():
    assert v.auc(np.array([1, 2, 3, 4]), np.array([1, 1, 0, 0])) == 1.0
    assert v.auc(np.array([5, 5, 5, 5]), np.array([1, 0, 1, 0])) == 0.5
    assert v.gini(np.array([1, 2, 3, 4]), np.array([0, 0, 1, 1])) == -1.0


def test_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(1)
    s = rng.integers(300, 900, 400)
    bad = rng.random(400) < 0.2
    pairs = (s[~bad][:, None] > s[bad][None, :]).mean() + 0.5 * (
        s[~bad][:, None] == s[bad][None, :]).mean()
    assert v.auc(s, bad) == pytest.approx(pairs)


def test_ks_is_the_largest_cdf_gap():
    assert v.ks(np.array([1, 2, 3, 4]), np.array([1, 1, 0, 0])) == 1.0
    assert v.ks(np.array([1, 1, 1, 1]), np.array([1, 0, 1, 0])) == 0.0


def test_psi_is_zero_for_identical_runs_and_grows_with_shift():
    rng = np.random.default_rng(2)
    a = rng.normal(650, 80, 10_000)
    assert v.psi(a, a) == pytest.approx(0.0, abs=1e-12)
    assert v.psi(a, a + 10) < v.psi(a, a + 60)


def test_monotonicity_flags_a_band_where_the_bad_rate_rises():
    scores = np.repeat([500, 600, 700], 1000)
    bad = np.concatenate([np.arange(1000) < 300, np.arange(1000) < 400, np.arange(1000) < 50])
    result = v.monotonicity(scores, bad)
    assert not result["monotonic"] and result["breaks"] == ["600–649"]


def test_sampling_noise_is_not_a_monotonicity_break():
    scores = np.repeat([500, 600], 100)
    bad = np.concatenate([np.arange(100) < 30, np.arange(100) < 32])
    assert v.monotonicity(scores, bad)["monotonic"]
    assert not v.monotonicity(scores, bad, tolerance_se=0)["monotonic"]


def test_age_bands_label_ages():
    from datetime import date

    assert v.age_band(date(2000, 7, 1), date(2025, 6, 30)) == "18–24"
    assert v.age_band(date(1950, 1, 1), date(2025, 6, 30)) == "65+"


def test_the_synthetic_population_validates_and_the_report_is_self_contained(model, tmp_path):
    people = generate_people(20_000, seed=4)
    batch = generate_batch(people, seed=4)
    x = compute_features(model, batch, people.consent, to_epoch(AS_OF))
    scores = score_batch(model, x).scores
    districts = np.array([d[0] for d in DISTRICTS])[people.district]
    ages = v.age_bands_from_days(people.birth_day, to_epoch(AS_OF) // 86_400)
    path = tmp_path / "report.html"
    metrics = write_report(path, scores, people.label, model_id=model.id, districts=districts,
                           age_bands=ages, previous=scores[::-1] + 5,
                           tier_mins=[(t.code, t.min) for t in model.tiers])
    assert metrics["auc"] > 0.65 and metrics["ks"] > 0.2
    assert metrics["monotonicity"]["monotonic"]
    assert len(metrics["by_district"]) == len({d[0] for d in DISTRICTS})
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") >= 4
    assert "http://" not in page and "https://" not in page
    assert 300 <= np.percentile(scores, 1) and np.percentile(scores, 99) <= 960
