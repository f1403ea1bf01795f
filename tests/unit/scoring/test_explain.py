"""Explanations in the pinned shape, stored inputs and bit-for-bit verification."""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta

import pytest

from core.registry import CATEGORIES
from scoring import (
    ScoringConsentRequired,
    explain,
    recompute,
    score_one,
    score_resident,
    verify,
)
from scoring.features import to_epoch

from .conftest import AS_OF

RECORDS = [
    {"category": "traffic", "type": "violation", "occurred_at": AS_OF - timedelta(days=20)},
    {"category": "tax", "type": "arrears", "occurred_at": AS_OF - timedelta(days=60),
     "amount_fen": 250_000},
    {"category": "volunteer", "type": "service_hours", "occurred_at": AS_OF - timedelta(days=9),
     "quantity": 12},
    *[{"category": "social_insurance", "type": "contribution_month",
       "occurred_at": AS_OF - timedelta(days=30 * k + 5)} for k in range(24)],
    *[{"category": "housing_fund", "type": "contribution_month",
       "occurred_at": AS_OF - timedelta(days=30 * k + 5)} for k in range(24)],
    *[{"category": "tax", "type": "filed_on_time",
       "occurred_at": AS_OF - timedelta(days=365 * k + 90)} for k in range(3)],
    *[{"category": "blood_donation", "type": "donation",
       "occurred_at": AS_OF - timedelta(days=100 * k + 1)} for k in range(4)],
]
SOME = [c for c in CATEGORIES if c not in ("scenario_performance", "rental")]


def test_the_explanation_has_the_pinned_shape(model):
    result, _ = score_resident(model, RECORDS, SOME, AS_OF)
    assert {"score", "tier", "model", "dimensions", "reasons", "positives",
            "unused_categories", "features", "inputs_hash"} <= result.keys()
    assert result["model"] == "pengcheng-v1"
    assert [set(d) for d in result["dimensions"]] == [
        {"code", "name", "points", "max_points"}] * 5
    assert all(set(r) == {"code", "text", "points_lost", "tip"} for r in result["reasons"])
    assert all(set(f) >= {"code", "value", "bin", "points", "max_points"}
               for f in result["features"])
    assert sum(d["points"] for d in result["dimensions"]) + model.base_points == result["score"]
    json.dumps(result, allow_nan=False)


def test_reasons_are_negative_ranked_and_carry_tips(model):
    result, _ = score_resident(model, RECORDS, SOME, AS_OF)
    lost = [r["points_lost"] for r in result["reasons"]]
    assert 1 <= len(lost) <= 4 and all(x > 0 for x in lost)
    assert lost == sorted(lost, reverse=True)
    codes = [r["code"] for r in result["reasons"]]
    known = [f for f in result["features"] if f["bin"] >= 0 and f["points"] < f["max_points"]]
    assert codes == [f["code"] for f in sorted(known, key=lambda f: f["points"] -
                                               f["max_points"])][:4]
    assert all(r["tip"] for r in result["reasons"])


def test_unused_categories_are_the_supplements_not_added(model):
    result, _ = score_resident(model, RECORDS, SOME, AS_OF)
    assert result["unused_categories"] == [
        {"category": "rental", "name": {"zh": "租赁", "en": "Rental"}, "max_points": 45}]


def test_positives_are_features_at_their_maximum(model):
    result, _ = score_resident(model, RECORDS, SOME, AS_OF)
    codes = {p["code"] for p in result["positives"]}
    assert codes and not codes & {r["code"] for r in result["reasons"]}


def test_texts_come_in_chinese_or_english(model):
    zh, _ = score_resident(model, RECORDS, SOME, AS_OF)
    en, _ = score_resident(model, RECORDS, SOME, AS_OF, lang="en")
    assert zh["tier_name"] != en["tier_name"]
    assert zh["dimensions"][0]["name"] == "身份稳定"
    assert en["dimensions"][0]["name"] == "Identity and stability"
    assert zh["score"] == en["score"] and zh["inputs_hash"] == en["inputs_hash"]


def test_a_stored_score_recomputes_bit_for_bit_from_its_inputs(model):
    result, inputs = score_resident(model, RECORDS, SOME, AS_OF, lang="en")
    stored_inputs = json.loads(json.dumps(inputs))
    stored = json.loads(json.dumps(result))
    assert recompute(model, stored_inputs, lang="en") == stored
    assert verify(model, stored_inputs, stored)


def test_a_tampered_score_or_input_fails_verification(model):
    result, inputs = score_resident(model, RECORDS, SOME, AS_OF)
    forged = copy.deepcopy(result)
    forged["score"] += 1
    assert not verify(model, inputs, forged)
    changed = copy.deepcopy(inputs)
    changed["features"]["traffic_violations_1y"] = 0
    assert not verify(model, changed, result)


def test_recompute_refuses_inputs_of_another_model_text(model, spec):
    from scoring import parse_model

    _, inputs = score_resident(model, RECORDS, SOME, AS_OF)
    spec["base_points"] += 1
    with pytest.raises(ValueError, match="different model"):
        recompute(parse_model(spec), inputs)


def test_no_category_to_read_is_consent_required_not_a_zero_score(spec):
    from scoring import parse_model

    spec["features"] = [f for f in spec["features"] if not CATEGORIES[f["category"]].core]
    with pytest.raises(ScoringConsentRequired) as err:
        score_resident(parse_model(spec), RECORDS, [], AS_OF)
    assert err.value.code == "consent_required"


def test_one_resident_scores_with_reasons_in_tens_of_microseconds(model):
    _, inputs = score_resident(model, RECORDS, SOME, AS_OF)
    values = [float("nan") if v is None else float(v) for v in inputs["features"].values()]
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        score_one(model, values)
    per_call = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        explain(model, values, SOME, to_epoch(AS_OF))
    per_explain = (time.perf_counter() - t0) / n
    assert per_call < 200e-6, per_call  # ~15 µs here; generous for slow CI machines
    assert per_explain < 2e-3, per_explain
