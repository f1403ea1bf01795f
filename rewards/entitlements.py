"""Entitlements: what the resident's score unlocks in every scenario, and tokens to use them.

The resident sees everything about their own standing — eligible or not, why, the limits, which
consent is missing. Partners only ever see the token's `ent`, the scenario's fixed disclosure
(rewards.tokens); the resident's limits stay in `issued_tokens` for the partner writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from consent.gate import ConsentRequired, consent_since, require
from consent.notices import NoticeRef
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Partner, Resident
from rewards import errors
from rewards.eligibility import Decision, decide, overridden, reason
from rewards.exclusions import active_exclusions
from rewards.scenarios import Scenario, catalogue, effective, purpose_of, usable
from rewards.token_format import TokenContext
from rewards.tokens import Issued, issue


@dataclass(frozen=True)
class Entitlement:
    scenario: Scenario
    decision: Decision
    consent_given: bool

    @property
    def usable(self) -> bool:
        """Eligible and consented: a token can be issued now."""
        return self.decision.eligible and self.consent_given

    @property
    def missing_consent(self) -> list[str]:
        # A scenario without a notice has nothing to consent to yet.
        missing = [] if self.consent_given or not self.scenario.available \
            else [self.scenario.purpose]
        if any(r.code == "scoring_consent_missing" for r in self.decision.reasons):
            missing.insert(0, "scoring")
        return missing


def standing(uow: UnitOfWork, resident: Resident, now: datetime) -> tuple[int | None, str | None]:
    """(score, tier), or (None, None) without a scoring consent."""
    from scoring.services import current_score

    try:
        view = current_score(uow, resident, now=now)
    except ConsentRequired:
        return None, None
    return view.score, view.tier


_OVERRIDES = text("SELECT o.scenario, o.review_id, o.ends_at"
                  " FROM pc_overrides_in_force(:resident, :now) o ORDER BY o.ends_at")


def overrides(session: Session, resident_id: uuid.UUID, now: datetime
              ) -> dict[str, dict[str, Any]]:
    """The eligibility overrides in force for the resident (granted by a human review,
    `rights.reviews`), by scenario: {review_id, ends_at}; the latest ending wins. "In force"
    is `pc_overrides_in_force`'s (rewards/sql/exclusions.sql), which the token checks use."""
    return _by_scenario(session.execute(_OVERRIDES, {"resident": resident_id, "now": now}))


def _by_scenario(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    return {o.scenario: {"review_id": str(o.review_id), "ends_at": iso(o.ends_at)}
            for o in rows if o.scenario is not None}


def entitlements(uow: UnitOfWork, resident: Resident, *, now: datetime) -> list[Entitlement]:
    """Every active scenario with the resident's decision (a review's override in force
    applied) and consent state."""
    score, tier = standing(uow, resident, now)
    session = uow.session
    scenarios = catalogue(session)
    excluded = active_exclusions(session, resident.id, now) if score is not None else set()
    granted = overrides(session, resident.id, now)
    return [
        Entitlement(s, overridden(s, decide(s, score=score, tier=tier, exclusions=excluded),
                                  tier=tier, override=granted.get(s.code)) if s.available
                    else Decision(False, (reason("scenario_not_available"),)),
                    consent_since(session, resident.id, s.purpose, now) is not None)
        for s in scenarios.values()
    ]


_PARTNER = select(Partner).where(Partner.client_id == bindparam("client_id"))


def partner_by_client_id(session: Session, client_id: str) -> Partner:
    found = session.scalars(_PARTNER, {"client_id": client_id}).first()
    if found is None or not found.active:
        raise _unknown_partner(client_id)
    return found


def _unknown_partner(client_id: str) -> errors.UnknownPartner:
    return errors.UnknownPartner(f"no active partner {client_id!r}", detail_zh="没有该合作机构")


def serving_partners(session: Session, scenario: Scenario) -> list[Partner]:
    """Active partners registered for `scenario` (the list the mini-program shows)."""
    partners = session.scalars(
        select(Partner).where(Partner.active.is_(True),
                              Partner.kind.in_(scenario.partner_kinds)).order_by(Partner.name))
    return [p for p in partners if scenario.code in (p.scenarios or [])]


# Everything a token's issue checks but the score, in one round trip (issue 26): the operators'
# definition of the scenario (JSON text: `scenarios.effective` parses each text once) and its
# purpose's current notice (`consent.notices.current_ref`: the highest version), the partner if
# it is active, since when the resident's consent to the scenario is valid (`pc_consent_since`,
# the rule `consent.gate` reads), the exclusions that apply (`active_exclusions`' function) and
# the overrides in force (`overrides`' function), one row each (none: one row). Each column
# costs the driver and SQLAlchemy ~10-25 µs a request: only what the checks read.
_ISSUE_CHECKS = (
    "SELECT s.spec::text AS spec, s.version,"
    " n.id AS notice_id, n.version AS notice_version, n.hash AS notice_hash, n.published_at,"
    " p.id AS partner_id, p.kind, p.scenarios,"
    " pc_consent_since(%(resident)s, %(purpose)s, %(now)s) AS consent_since,"
    " e.codes, o.scenario, o.review_id, o.ends_at"
    " FROM pc_exclusions(%(resident)s, %(now)s) AS e(codes)"
    " LEFT JOIN scenario_settings s ON s.code = %(scenario)s"
    " LEFT JOIN LATERAL (SELECT c.id, c.version, c.hash, c.published_at FROM consent_notices c"
    "  WHERE c.purpose = %(purpose)s ORDER BY c.version DESC LIMIT 1) n ON true"
    " LEFT JOIN partners p ON p.client_id = %(client_id)s AND p.active"
    " LEFT JOIN pc_overrides_in_force(%(resident)s, %(now)s) o ON true ORDER BY o.ends_at")


@dataclass(frozen=True)
class _Audience:
    """The partner a token is issued to (`rewards.tokens.issue`'s `partner`)."""

    id: uuid.UUID
    client_id: str


def issue_token(uow: UnitOfWork, resident: Resident, *, scenario: str, partner: str,
                now: datetime, ctx: TokenContext) -> Issued:
    """A token for `scenario` addressed to the partner `partner` (a client id), if the resident
    is eligible, has consented, and the partner serves the scenario.

    Reads what it checks in one statement (`_ISSUE_CHECKS`), the score through
    `standing`, and writes the token in one more; refuses in the order of the checks: the
    scenario (`scenarios.usable`), the partner (`partner_by_client_id`'s refusal), whether it
    serves the scenario, the consent to the scenario (`consent.gate.require`'s refusal), to
    scoring, then eligibility."""
    session = uow.session
    purpose = purpose_of(scenario)
    rows = session.connection().exec_driver_sql(_ISSUE_CHECKS, {
        "resident": resident.id, "scenario": scenario, "purpose": purpose,
        "client_id": partner, "now": now}).all()
    row = rows[0]
    notice = None if row.notice_id is None else NoticeRef(
        row.notice_id, row.notice_version, row.notice_hash, row.published_at)
    found = usable(scenario, effective(scenario, row.spec, row.version), notice)
    if row.partner_id is None:
        raise _unknown_partner(partner)
    if row.kind not in found.partner_kinds or found.code not in (row.scenarios or []):
        raise errors.PartnerNotServing(f"{partner} does not serve {found.code}",
                                       detail_zh="该机构未开通此场景")
    if row.consent_since is None:
        require(session, resident.id, purpose, now)  # refuses in the gate's words
    score, tier = standing(uow, resident, now)
    if score is None:
        raise ConsentRequired("entitlements need your consent to scoring",
                              detail_zh="使用信用权益需要您授权计算信用分", purpose="scoring")
    excluded = set(found.exclusions) & set(row.codes or ())
    decision = overridden(found, decide(found, score=score, tier=tier, exclusions=excluded),
                          tier=tier, override=_by_scenario(rows).get(found.code))
    if not decision.eligible:
        raise errors.NotEligible(
            "; ".join(r.en for r in decision.reasons),
            detail_zh="；".join(r.zh for r in decision.reasons),
            reasons=[r.code for r in decision.reasons])
    issued = issue(session, resident_id=resident.id,
                   partner=_Audience(row.partner_id, partner), scenario=found,
                   limits=decision.limits, now=now, ctx=ctx)
    uow.commit()
    return issued


def describe(e: Entitlement) -> dict[str, Any]:
    """The resident's view of one entitlement."""
    s = e.scenario
    return {
        "scenario": s.code, "name": s.name, "domain": s.domain,
        "eligible": e.decision.eligible, "consent_given": e.consent_given, "usable": e.usable,
        "reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in e.decision.reasons],
        "limits": e.decision.limits, "missing_consent": e.missing_consent,
        "override": e.decision.override,
        "min_tier": s.min_tier, "token_ttl_seconds": s.token_ttl_seconds,
    }
