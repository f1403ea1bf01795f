"""A supplement can only help; the core is never unknown (issue 23) — properties over random
specs and residents, and the validator's refusal of a spec that breaks them."""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.registry import CATEGORIES, CORE, SUPPLEMENTS
from scoring import ModelInvalid, parse_model, score_one, score_resident, validate_spec
from scoring.features import scoring_scope
from scoring.spec import (
    AGGREGATES,
    Model,
    never_months,
    reachable_bins,
    supplement_gain,
    value_range,
)

from .conftest import AS_OF

TEXT = {"zh": "说明", "en": "text"}
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def features(draw: st.DrawFn, i: int) -> dict:
    """One random feature; its unknown_points is its worst reachable evidence."""
    category = draw(st.sampled_from(sorted(CATEGORIES)))
    aggregate = draw(st.sampled_from(AGGREGATES))
    window = draw(st.integers(1, 2000))
    edges = sorted(draw(st.sets(st.integers(-3, 40), min_size=1, max_size=4)))
    points = draw(st.lists(st.integers(0, 60), min_size=len(edges) + 1,
                           max_size=len(edges) + 1))
    worst = min(points[b] for b in reachable_bins(edges, aggregate, window))
    return {"code": f"f{i}", "category": category,
            "types": [next(iter(CATEGORIES[category].types))], "window_days": window,
            "aggregate": aggregate, "bins": edges, "points": points, "unknown_points": worst,
            "dimension": "d", "monotonic": "none", "name": TEXT, "reason": TEXT, "tip": TEXT}


@st.composite
def specs(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 8))
    return {"id": "random", "version": "1", "base_points": 100,
            "dimensions": [{"code": "d", "name": TEXT}],
            "features": [draw(features(i)) for i in range(n)],
            "tiers": [{"code": "all", "min": 0, "name": TEXT}]}


def _value_in(f, bin_: int) -> float:
    """A value the feature's aggregate can take that falls into reachable bin `bin_`."""
    lo, hi = value_range(f.aggregate, f.window_days)
    bounds = [-math.inf, *f.edges, math.inf]
    return max(lo, bounds[bin_]) if bounds[bin_] <= hi else hi


@st.composite
def residents(draw: st.DrawFn, model: Model) -> list[float]:
    """Feature values a resident could have: each in a reachable bin of its feature."""
    return [_value_in(f, draw(st.sampled_from(
        reachable_bins(f.edges, f.aggregate, f.window_days)))) for f in model.features]


def _left_out(model: Model, values: list[float], category: str) -> list[float]:
    return [math.nan if f.category == category else v
            for f, v in zip(model.features, values, strict=True)]


@PROPERTY
@given(data=st.data(), spec=specs())
def test_adding_a_supplement_never_lowers_a_score_and_leaving_it_out_earns_its_worst(data, spec):
    assert validate_spec(spec) == []
    model = parse_model(spec)
    values = data.draw(residents(model))
    for category in {f.category for f in model.features} & SUPPLEMENTS:
        without = score_one(model, _left_out(model, values, category)).score
        assert score_one(model, values).score >= without
        worst = [_value_in(f, min(reachable_bins(f.edges, f.aggregate, f.window_days),
                                  key=lambda b, f=f: f.points[b]))
                 if f.category == category else v
                 for f, v in zip(model.features, values, strict=True)]
        assert score_one(model, worst).score == without


@PROPERTY
@given(data=st.data(), spec=specs())
def test_supplement_gain_is_the_most_adding_a_supplement_brings(data, spec):
    model = parse_model(spec)
    values = data.draw(residents(model))
    for category in SUPPLEMENTS:
        best = [_value_in(f, max(reachable_bins(f.edges, f.aggregate, f.window_days),
                                 key=lambda b, f=f: f.points[b]))
                if f.category == category else v
                for f, v in zip(model.features, values, strict=True)]
        gain = (score_one(model, best).score
                - score_one(model, _left_out(model, values, category)).score)
        assert supplement_gain(model, category) == gain == supplement_gain(spec, category)


@PROPERTY
@given(data=st.data(), spec=specs())
def test_a_left_out_supplement_is_never_a_reason(data, spec):
    model = parse_model(spec)
    values = data.draw(residents(model))
    left_out = set(data.draw(st.sets(st.sampled_from(sorted(SUPPLEMENTS)))))
    scored = score_one(model, [math.nan if f.category in left_out else v
                               for f, v in zip(model.features, values, strict=True)])
    assert not {model.features[j].category for j in scored.reasons} & left_out


@PROPERTY
@given(data=st.data(), spec=specs())
def test_the_validator_refuses_a_supplement_whose_unknown_points_are_not_its_worst(data, spec):
    i = data.draw(st.integers(0, len(spec["features"]) - 1))
    f = spec["features"][i]
    f["unknown_points"] += data.draw(st.sampled_from([-3, -1, 1, 5]))
    problems = validate_spec(spec)
    assert any(p.startswith(f"features[{i}] (f{i}): unknown_points") for p in problems)
    with pytest.raises(ModelInvalid):
        parse_model(spec)


def test_above_its_worst_adding_the_supplement_could_lower_a_score(spec):
    f = next(f for f in spec["features"] if f["code"] == "traffic_violations_1y")
    f["unknown_points"] = 1  # three violations earn 0: adding them would lose a point
    problems = validate_spec(spec)
    assert any("adding the supplement 'traffic' could lower a score" in p for p in problems)


def test_below_its_worst_leaving_a_supplement_out_would_score_below_its_worst(spec):
    f = next(f for f in spec["features"] if f["code"] == "volunteer_hours_2y")
    f["points"] = [p + 5 for p in f["points"]]
    assert any("leaving out 'volunteer' would score below its worst evidence" in p
               for p in validate_spec(spec))


def test_unreachable_bins_do_not_count_as_evidence(spec):
    f = next(f for f in spec["features"] if f["code"] == "utility_on_time_payments_2y")
    f["bins"], f["points"] = [0, 4, 8, 12], [0, 3, 10, 20, 30]  # a count is never below 0
    assert any("unknown_points 0 is below the worst evidence's points 3" in p
               for p in validate_spec(spec))
    f["unknown_points"] = 3
    assert validate_spec(spec) == []
    assert supplement_gain(spec, "utilities") == 55 - 3


def test_supplement_gain_refuses_a_core_or_unknown_category(model):
    for category in (*sorted(CORE), "nonsense"):
        with pytest.raises(ValueError):
            supplement_gain(model, category)


def test_the_active_model_says_what_each_supplement_could_add(model):
    assert {c: supplement_gain(model, c) for c in model.supplement_codes} == {
        "social_insurance": 80, "housing_fund": 55, "utilities": 55, "traffic": 20,
        "volunteer": 65, "blood_donation": 50, "rental": 45}


RECORD_KINDS = [(c, t) for c in sorted(CATEGORIES) for t in CATEGORIES[c].types]


@st.composite
def records(draw: st.DrawFn) -> list[dict]:
    out = []
    for _ in range(draw(st.integers(0, 25))):
        category, type_ = draw(st.sampled_from(RECORD_KINDS))
        out.append({"category": category, "type": type_,
                    "occurred_at": AS_OF - timedelta(days=draw(st.integers(0, 2000))),
                    "amount_fen": draw(st.integers(0, 2_000_000)),
                    "quantity": draw(st.integers(0, 50))})
    return out


@settings(max_examples=60, deadline=None)
@given(history=records(), chosen=st.sets(st.sampled_from(sorted(SUPPLEMENTS))),
       extra=st.sampled_from(sorted(SUPPLEMENTS)))
def test_a_scored_resident_never_has_an_unknown_core_feature_and_adding_only_helps(
        model, history, chosen, extra):
    result, inputs = score_resident(model, history, chosen, AS_OF)
    unknown = {f.category for f in model.features if inputs["features"][f.code] is None}
    assert unknown == set(model.supplement_codes) - chosen
    assert set(inputs["consented_categories"]) == scoring_scope(chosen)
    more, _ = score_resident(model, history, chosen | {extra}, AS_OF)
    assert more["score"] >= result["score"]
    assert {u["category"] for u in result["unused_categories"]} == unknown


def _no_records(f) -> float:
    """The value a feature takes for a resident without records of its types."""
    return {"months_since_last": float(never_months(f.window_days)),
            "worst_severity": -1.0}.get(f.aggregate, 0.0)


def test_no_core_records_is_a_clean_core_record(model):
    core_only, inputs = score_resident(model, [], [], AS_OF)
    core = [f for f in model.features if CATEGORIES[f.category].core]
    assert [inputs["features"][f.code] for f in core] == [_no_records(f) for f in core]
    negative = [f for f in core if all(
        CATEGORIES[f.category].types[t].polarity == "negative" for t in f.types)]
    assert negative and all(
        f.points[bisect_right(f.edges, _no_records(f))] == f.max_points for f in negative)
    assert core_only["score"] == model.base_points + sum(
        f.points[bisect_right(f.edges, _no_records(f))] for f in core) == 500
    # what a clean core lacks is only positive evidence not (yet) earned
    assert {r["code"] for r in core_only["reasons"]} <= {
        "commendations_5y", "tax_filed_on_time_3y", "scenario_kept_2y"}
    listed, _ = score_resident(model, [
        {"category": "judicial", "type": "dishonest_debtor",
         "occurred_at": AS_OF - timedelta(days=30)}], [], AS_OF)
    assert listed["score"] == 500 - 80 - 20  # the listing and its recency both count


@PROPERTY
@given(data=st.data(), spec=specs())
def test_any_spec_the_validator_accepts_lets_a_supplement_only_help(data, spec):
    """Unknown points drawn near the worst evidence: every spec in which leaving a supplement
    out could beat adding it is refused; every spec accepted keeps the promise."""
    for f in spec["features"]:
        f["unknown_points"] += data.draw(st.sampled_from([0, 0, 0, 0, -1, 1, 7]))
    breaks = [f for f in spec["features"] if not CATEGORIES[f["category"]].core and
              f["unknown_points"] > min(f["points"][b] for b in reachable_bins(
                  f["bins"], f["aggregate"], f["window_days"]))]
    if validate_spec(spec):
        return
    assert not breaks
    model = parse_model(spec)
    values = data.draw(residents(model))
    for category in SUPPLEMENTS:
        assert score_one(model, values).score >= score_one(
            model, _left_out(model, values, category)).score
