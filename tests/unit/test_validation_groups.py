"""Outcome metrics by group (scoring.validation): calibration against the whole, the groups that
depart most, and the stored-baseline PSI."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import validation as v

TIERS = [("excellent", 750), ("good", 600), ("building", 0)]


def population(seed: int = 1, n: int = 6000):
    """Two groups with the same score distribution; in "B" (a fifth of the residents) the bad
    rate at every score is doubled, so B is miscalibrated against the whole, A hardly."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(400, 900, n).astype(float)
    group = np.where(rng.random(n) < 0.8, "A", "B").astype("<U8")
    risk = 0.3 * (900 - scores) / 500
    bad = rng.random(n) < np.where(group == "B", np.minimum(1, 2 * risk), risk)
    return scores, bad, group


def test_a_groups_calibration_gap_is_its_weighted_distance_from_the_whole():
    rows = [{"count": 10, "observed": 0.2, "predicted": 0.1},
            {"count": 30, "observed": 0.1, "predicted": 0.1}]
    assert v.calibration_gap(rows) == pytest.approx(0.025)
    assert v.calibration_gap([]) is None


def test_group_metrics_give_distribution_outcomes_and_suppress_small_groups():
    scores, bad, group = population()
    group[:5] = "tiny"
    rows = {r["group"]: r for r in v.group_metrics(scores, bad, group, tier_mins=TIERS,
                                                   min_group=30)}
    assert rows["tiny"] == {"group": "tiny", "count": 5, "suppressed": True}
    a, b = rows["A"], rows["B"]
    assert b["bad_rate"] > a["bad_rate"] and 0.5 < a["auc"] < 1
    assert set(a["tiers"]) == {"excellent", "good", "building"}
    assert sum(a["tiers"].values()) == pytest.approx(1, abs=1e-3)
    assert b["calibration_gap"] > a["calibration_gap"]
    assert all(c["observed"] >= 0 and c["predicted"] >= 0 for c in b["calibration"])


def test_a_group_with_one_outcome_has_no_auc():
    scores = np.arange(100, dtype=float)
    rows = v.group_metrics(scores, scores < 50, np.where(scores < 50, "bad", "good"),
                           tier_mins=TIERS, min_group=1)
    assert all(r["auc"] is None for r in rows)


def test_departures_name_the_most_departing_groups_of_enough_residents():
    scores, bad, group = population()
    group[:50] = "small"  # far off by chance alone, but under min_count
    groupings = {"district": v.group_metrics(scores, bad, group, tier_mins=TIERS)}
    found = v.departures(groupings, v.auc(scores, bad), top=1, min_count=100)
    assert [d["group"] for d in found["calibration"]] == ["B"]
    assert found["calibration"][0]["by"] > 0.05
    assert all(d["group"] != "small" for d in found["auc"])


def test_psi_against_stored_shares_is_the_psi_against_the_scores_they_came_from():
    rng = np.random.default_rng(3)
    before, after = (rng.normal(mean, 80, 5000).clip(0, 1000) for mean in (650, 690))
    assert v.psi_shares(v.band_shares(before), after) == pytest.approx(v.psi(before, after))
    assert v.psi_shares(v.band_shares(before), before) == pytest.approx(0, abs=1e-12)


def test_districts_are_named():
    assert v.district_name("futian") == "福田区 Futian"
    assert v.district_name(None) == "unknown"
    assert v.district_name("福田区 Futian") == "福田区 Futian"


def test_the_auc_standard_error_is_hanley_and_mcneils_and_matches_sampling():
    assert v.auc_se(0.5, 100, 100) == pytest.approx(0.0409, abs=1e-4)
    rng = np.random.default_rng(5)
    draws = []
    for _ in range(300):
        bad = rng.random(400) < 0.25
        scores = rng.normal(0, 1, 400) + np.where(bad, 0, 0.8)
        draws.append(v.auc(scores, bad))
    expected = v.auc_se(float(np.mean(draws)), 300, 100)
    assert np.std(draws) == pytest.approx(expected, rel=0.2)
