"""Who qualifies for a scenario, as a pure function of the scenario, score, tier and exclusions
— and of an eligibility override a human review granted (`overridden`).

The reasons and the limits are for the resident's eyes only (DESIGN §2.1, issue 20): a partner
learns the scenario's fixed disclosure (`Scenario.discloses`, the same for every eligible
resident) and, when it asks for an amount, yes or `limit_exceeded` — never a limit, a tier or
why someone does not qualify. `exceeds` is the one comparison of what a partner asks with the
resident's limits (the SQL writes compare amounts against the line and the per-order cap the
same way, in their own statement).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rewards.exclusions import EXCLUSIONS
from rewards.scenarios import TIERS, Scenario

REASONS: dict[str, tuple[str, str]] = {
    "tier_too_low": ("信用等级未达到该场景的要求", "Your tier is below this scenario's minimum"),
    "score_too_low": ("信用分未达到该场景的要求", "Your score is below this scenario's minimum"),
    "scoring_consent_missing": ("尚未授权计算信用分", "You have not consented to scoring"),
    "scenario_not_available": ("该场景尚未开放：授权告知书尚未发布",
                               "Not yet available: its consent notice is not published yet"),
    **EXCLUSIONS,
}


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Decision:
    eligible: bool
    reasons: tuple[Reason, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)  # the tier's limits (resident view)
    override: dict[str, Any] | None = None  # a review's override in force: {review_id, ends_at}


# What a partner may ask for when it uses a token, and the limit field that bounds it.
REQUESTABLE: dict[str, str] = {
    "discount_pct": "discount_pct",  # the discount the merchant wants to give
    "items": "max_items",  # how many items are lent without a deposit
    "deposit_fen": "deposit_cap_fen",
}


def exceeds(limits: dict[str, Any], request: dict[str, int]) -> bool:
    """Whether any value the partner asks for is above the resident's limit for it (a limit the
    scenario does not have bounds nothing)."""
    return any(type(limits.get(REQUESTABLE[k])) is int and v > limits[REQUESTABLE[k]]
               for k, v in request.items())


def reason(code: str) -> Reason:
    zh, en = REASONS[code]
    return Reason(code, zh, en)


def decide(scenario: Scenario, *, score: int | None, tier: str | None,
           exclusions: Iterable[str] = ()) -> Decision:
    """Eligible or not, why not, and the tier's limits. `score` None: no scoring consent."""
    if score is None or tier is None:
        return Decision(False, (reason("scoring_consent_missing"),))
    reasons = []
    if TIERS.index(tier) < TIERS.index(scenario.min_tier):
        reasons.append(reason("tier_too_low"))
    if scenario.min_score is not None and score < scenario.min_score:
        reasons.append(reason("score_too_low"))
    found = set(exclusions)
    reasons.extend(reason(code) for code in scenario.exclusions if code in found)
    if reasons:
        return Decision(False, tuple(reasons))
    return Decision(True, (), dict(scenario.limits[tier]))


def overridden(scenario: Scenario, decision: Decision, *, tier: str | None,
               override: dict[str, Any] | None) -> Decision:
    """The decision with a human review's eligibility override in force applied: eligible,
    with the limits of the resident's tier (or of the scenario's minimum tier when theirs is
    below it), the override shown. Without a score (no scoring consent) nothing changes."""
    if override is None or tier is None:
        return decision
    limits = scenario.limits.get(tier) or scenario.limits[scenario.min_tier]
    return Decision(True, (), dict(limits), override=dict(override))
