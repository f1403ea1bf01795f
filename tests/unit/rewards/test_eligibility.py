"""Eligibility is a pure function of the scenario, the score, the tier and the exclusions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rewards import exclusions, scenarios
from rewards.eligibility import decide, exceeds
from rewards.scenarios import TIERS, defaults, parse

MEDICAL = defaults()["medical_credit"]


def codes(decision):
    return [r.code for r in decision.reasons]


@pytest.mark.parametrize("tier, limit", [("excellent", 500000), ("very_good", 300000),
                                         ("good", 200000)])
def test_an_eligible_tier_gets_its_limit(tier, limit):
    decision = decide(MEDICAL, score=700, tier=tier)
    assert decision.eligible
    assert decision.limits == {"limit_fen": limit}  # the resident's; a partner is never told


@pytest.mark.parametrize("tier", ["fair", "building"])
def test_a_tier_below_the_minimum_is_not_eligible_and_says_why(tier):
    decision = decide(MEDICAL, score=560, tier=tier)
    assert not decision.eligible
    assert codes(decision) == ["tier_too_low"]
    assert decision.reasons[0].zh and decision.reasons[0].en
    assert decision.limits == {}


def test_exclusions_apply_whatever_the_score():
    decision = decide(MEDICAL, score=900, tier="excellent",
                      exclusions={"dishonest_debtor", "overdue_bill"})
    assert codes(decision) == ["dishonest_debtor", "overdue_bill"]


def test_an_exclusion_the_scenario_does_not_name_does_not_apply():
    library = defaults()["library_no_deposit"]
    assert decide(library, score=600, tier="good", exclusions={"overdue_bill"}).eligible


def test_without_a_score_nothing_is_eligible():
    assert codes(decide(MEDICAL, score=None, tier=None)) == ["scoring_consent_missing"]


def test_a_minimum_score_is_checked_besides_the_tier():
    strict = parse({**MEDICAL.as_dict(), "min_score": 720})
    assert codes(decide(strict, score=705, tier="very_good")) == ["score_too_low"]
    assert decide(strict, score=720, tier="very_good").eligible


def test_what_a_partner_asks_is_compared_with_the_limit_that_bounds_it():
    library = decide(defaults()["library_no_deposit"], score=700, tier="good").limits
    assert not exceeds(library, {"deposit_fen": 10000, "items": 10})
    assert exceeds(library, {"deposit_fen": 10001})
    assert exceeds(library, {"items": 11})
    assert not exceeds({}, {"discount_pct": 99})  # a limit the scenario lacks bounds nothing


def test_points_redemption_is_open_to_every_tier():
    points = defaults()["points_redemption"]
    assert all(decide(points, score=400, tier=t).eligible for t in TIERS)


def test_every_exclusion_the_sql_function_can_answer_is_named_once_in_python():
    """`pc_exclusions` decides; `rewards.exclusions.EXCLUSIONS` names and explains its codes."""
    sql = (Path(exclusions.__file__).parent / "sql" / "exclusions.sql").read_text()
    answered = set(re.findall(r"found := found \|\| '([a-z_]+)'::text", sql))
    assert answered == set(exclusions.EXCLUSIONS) == set(scenarios.EXCLUSIONS)
    for code in answered:
        assert decide(MEDICAL, score=700, tier="excellent", exclusions={code}).reasons[0].en
