"""Who qualifies for a scenario, as a pure function of the scenario, score, tier and exclusions
— and of an eligibility override a human review granted (`overridden`).

The reasons are for the resident's eyes only (DESIGN §2.1): a partner learns `eligible` and the
limits the scenario discloses, never why someone does not qualify.
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

    def ent(self, scenario: Scenario) -> dict[str, Any]:
        """The `ent` claim: only what the scenario discloses to partners."""
        if not self.eligible:
            raise ValueError("no entitlement for an ineligible resident")
        allowed = set(scenario.discloses) - {"eligible"}
        return {"eligible": True, **{k: v for k, v in self.limits.items() if k in allowed}}


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
