"""The shipped catalogue and the validation of operators' scenario definitions."""

from __future__ import annotations

import pytest

from rewards.errors import InvalidScenario
from rewards.scenarios import DISCLOSABLE, MAX_TOKEN_TTL, defaults, parse

REQUIRED = {"medical_credit", "deposit_waiver_bike", "deposit_waiver_powerbank",
            "library_no_deposit", "hotel_no_deposit", "rental_deposit_waiver",
            "points_redemption", "fewer_documents", "priority_service", "car_repair_discount",
            "scenic_discount"}


def spec(**changes):
    return {**defaults()["medical_credit"].as_dict(), **changes}


def test_the_catalogue_has_at_least_ten_scenarios_across_the_plans_domains():
    found = defaults()
    assert REQUIRED <= set(found)
    assert len({s.domain for s in found.values()}) >= 5


def test_every_scenario_needs_its_own_consent_and_lives_at_most_five_minutes():
    for s in defaults().values():
        assert s.purpose == f"scenario:{s.code}"
        assert 0 < s.token_ttl_seconds <= MAX_TOKEN_TTL


def test_every_scenario_discloses_only_fixed_allow_listed_fields():
    for s in defaults().values():
        assert s.discloses["eligible"] is True
        assert set(s.discloses) <= set(DISCLOSABLE)
        for tier_limits in s.limits.values():  # never a value that differs between tiers
            assert all(tier_limits.get(k, v) == v for k, v in s.discloses.items())


def test_medical_credit_limits_grow_with_the_tier():
    limits = defaults()["medical_credit"].limits
    assert limits["good"]["limit_fen"] < limits["very_good"]["limit_fen"] \
        < limits["excellent"]["limit_fen"]


def test_an_active_dishonest_debtor_record_excludes_from_every_scenario():
    assert all("dishonest_debtor" in s.exclusions for s in defaults().values())


@pytest.mark.parametrize("changes, message", [
    ({"token_ttl_seconds": 301}, "token_ttl_seconds"),
    ({"discloses": ["eligible", "limit_fen"]}, "an object"),
    ({"discloses": {"eligible": True, "score": True}}, "only be told"),
    ({"discloses": {"eligible": True, "Tier": True}}, "only be told"),
    ({"discloses": {"eligible": True, "lvl": True}}, "only be told"),
    ({"discloses": {"eligible": True, "limit_fen": True}}, "only be told"),
    ({"discloses": {"eligible": True, "commitment": 1}}, "true or false"),
    ({"discloses": {"limit_fen": 200000}}, "eligible"),
    ({"discloses": {"eligible": False}}, "eligible"),
    ({"min_tier": "platinum"}, "min_tier"),
    ({"limits": {"excellent": {"limit_fen": 1}}}, "eligible tiers"),
    ({"limits": {"excellent": {"limit_fen": -1}, "very_good": {"limit_fen": 1},
                 "good": {"limit_fen": 1}}}, "non-negative"),
    ({"exclusions": ["bad_hair_day"]}, "exclusions"),
    ({"partner_kinds": ["bank"]}, "partner_kinds"),
    ({"min_score": "600"}, "min_score"),
    ({"surprise": 1}, "unknown fields"),
])
def test_an_invalid_definition_is_refused_with_the_reason(changes, message):
    with pytest.raises(InvalidScenario, match=message):
        parse(spec(**changes))


def test_a_definition_round_trips():
    original = defaults()["library_no_deposit"]
    assert parse(original.as_dict()) == original


@pytest.mark.parametrize("code", sorted(defaults()))
def test_the_answer_renders_a_scenario_as_its_definition_and_version(code):
    from app.api.scenarios.schemas import ScenarioSchema

    scenario = parse(defaults()[code].as_dict(), version=3)
    assert ScenarioSchema().dump(scenario) == {**scenario.as_dict(), "version": 3,
                                               "available": False, "notice": None}


def test_a_disclosed_field_whose_value_differs_between_tiers_is_refused():
    """`priority` may be told only as one fixed value: a tier without it would be told apart."""
    priority = defaults()["priority_service"].as_dict()
    priority["limits"]["very_good"]["priority"] = False
    with pytest.raises(InvalidScenario, match="same for every tier"):
        parse(priority)
