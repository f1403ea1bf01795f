"""The model spec loader and validator."""

from __future__ import annotations

import json

import pytest

from core.registry import CATEGORIES
from scoring import ModelInvalid, load_spec_text, parse_model, spec_hash, validate_spec
from scoring.spec import builtin_model_ids


def test_pengcheng_v1_passes_the_validator(spec):
    assert validate_spec(spec) == []


def test_pengcheng_v1_has_five_dimensions_and_fifteen_or_more_features(model):
    assert len(model.dimensions) == 5
    assert len(model.features) >= 15
    assert {d.code for d in model.dimensions} == {
        "identity_stability", "law_abiding", "contract_keeping", "public_spirit",
        "repair_improvement"}


def test_pengcheng_v1_covers_every_registered_category(model):
    assert set(model.category_codes) == set(CATEGORIES)


def test_pengcheng_v1_tiers_follow_the_design(model):
    assert [(t.code, t.min) for t in model.tiers] == [
        ("excellent", 750), ("very_good", 700), ("good", 600), ("fair", 550), ("building", 0)]
    assert model.tier_for(749).code == "very_good"
    assert model.tier_for(550).code == "fair"
    assert model.tier_for(549).name["zh"] == "待提升"


def test_pengcheng_v1_range_stays_inside_0_to_1000(model):
    lo, hi = model.score_range
    assert 0 <= lo < hi <= 1000


def test_builtin_models_are_listed():
    assert "pengcheng-v1" in builtin_model_ids()


@pytest.mark.parametrize("where, value", [
    ("code", "religion_score"),
    ("code", "blood_type_known"),
    ("category", "ethnicity"),
    ("types", ["medical_history"]),
])
def test_banned_inputs_are_refused(spec, where, value):
    spec["features"][0][where] = value
    problems = validate_spec(spec)
    assert any("banned input" in p for p in problems), problems


def test_a_banned_attribute_name_anywhere_is_refused(spec):
    spec["features"][0]["attributes"] = ["fingerprints"]
    problems = validate_spec(spec)
    assert any("banned input 'fingerprints'" in p for p in problems)
    assert any("unknown field 'attributes'" in p for p in problems)


def test_blood_donation_is_not_mistaken_for_blood_type(spec):
    assert not [p for p in validate_spec(spec) if "banned" in p]


def test_features_on_unregistered_categories_or_types_are_refused(spec):
    spec["features"][0]["category"] = "shopping"
    spec["features"][1]["types"] = ["late_night_snacks"]
    problems = validate_spec(spec)
    assert any("unregistered category 'shopping'" in p for p in problems)
    assert any("unregistered record type housing_fund.late_night_snacks" in p for p in problems)


def test_unsorted_bins_are_refused(spec):
    spec["features"][0]["bins"] = [12, 6, 18, 23]
    assert any("not strictly increasing" in p for p in validate_spec(spec))


def test_the_wrong_number_of_points_is_refused(spec):
    spec["features"][0]["points"] = [0, 10]
    assert any("need 5 points, got 2" in p for p in validate_spec(spec))


def test_points_that_break_the_declared_direction_are_refused(spec):
    spec["features"][0]["points"] = [0, 40, 20, 60, 80]  # declared increasing
    spec["features"][3]["points"] = [0, 15, 5, 30]  # declared decreasing
    problems = validate_spec(spec)
    assert any("decrease but monotonic is 'increasing'" in p for p in problems)
    assert any("increase but monotonic is 'decreasing'" in p for p in problems)


def test_an_achievable_range_outside_0_to_1000_is_refused(spec):
    spec["base_points"] = 900
    assert any("outside 0–1000" in p for p in validate_spec(spec))
    spec["base_points"] = -10
    assert any("outside 0–1000" in p for p in validate_spec(spec))


def test_missing_reason_texts_or_tips_are_refused(spec):
    del spec["features"][0]["reason"]["en"]
    spec["features"][1]["tip"]["zh"] = " "
    problems = validate_spec(spec)
    assert any("missing en reason" in p for p in problems)
    assert any("missing zh tip" in p for p in problems)


def test_unknown_dimensions_and_duplicate_codes_are_refused(spec):
    spec["features"][0]["dimension"] = "charm"
    spec["features"][2]["code"] = spec["features"][1]["code"]
    problems = validate_spec(spec)
    assert any("unknown dimension 'charm'" in p for p in problems)
    assert any("duplicate feature code" in p for p in problems)


def test_an_invalid_spec_raises_with_every_problem(spec):
    spec["features"][0]["bins"] = [3, 1, 2, 4]
    spec["features"][1]["category"] = "religion"
    with pytest.raises(ModelInvalid) as err:
        parse_model(spec)
    assert len(err.value.problems) >= 2
    assert err.value.code == "model_invalid"


def test_malformed_json_is_refused_with_a_problem():
    with pytest.raises(ModelInvalid) as err:
        load_spec_text("{not json")
    assert err.value.problems[0].startswith("not valid JSON")
    with pytest.raises(ModelInvalid):
        load_spec_text("[]")


def test_the_spec_hash_ignores_key_order_and_whitespace(spec):
    reordered = json.loads(json.dumps(spec, indent=4, sort_keys=True))
    assert spec_hash(reordered) == spec_hash(spec)
    spec["base_points"] += 1
    assert spec_hash(reordered) != spec_hash(spec)
