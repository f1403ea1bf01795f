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
from typing import Any, NamedTuple

from sqlalchemy import DateTime, bindparam, column, literal, select, text, true
from sqlalchemy.orm import Session

from consent.gate import SCORING, ConsentRequired, consent_since, require, valid_consent
from consent.notices import CURRENT_NOTICES, NoticeRef
from core import pgcall
from core.clock import utc
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Partner, Resident, hash_key
from core.sessions import live, session_lookup
from rewards import errors
from rewards.eligibility import Decision, decide, overridden, reason
from rewards.exclusions import active_exclusions
from rewards.scenarios import Scenario, catalogue, effective, purpose_of, usable
from rewards.token_format import TokenContext
from rewards.tokens import Issued, issue
from scoring.read import DECISION_COLUMNS, stored_current
from scoring.services import active_model_ref, latest_of


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


# The override in force for each scenario: of those `pc_overrides_in_force` finds, the latest
# ending wins. This statement is that choice, once; the token checks (`_CHECKS`) join it.
# `{resident}`: the resident, a parameter or a column of an enclosing statement.
OVERRIDE_BY_SCENARIO = ("SELECT DISTINCT ON (o.scenario) o.scenario, o.review_id, o.ends_at"
                        " FROM pc_overrides_in_force({resident}, :now) o"
                        " ORDER BY o.scenario, o.ends_at DESC")
_OVERRIDES = text(OVERRIDE_BY_SCENARIO.format(resident=":resident"))


def overrides(session: Session, resident_id: uuid.UUID, now: datetime
              ) -> dict[str, dict[str, Any]]:
    """The eligibility overrides in force for the resident (granted by a human review,
    `rights.reviews`), by scenario: {review_id, ends_at} (`OVERRIDE_BY_SCENARIO`)."""
    return _by_scenario(session.execute(_OVERRIDES, {"resident": resident_id, "now": now}))


def _by_scenario(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    return {o.scenario: _override(o.review_id, o.ends_at) for o in rows if o.scenario is not None}


def _override(review_id: uuid.UUID, ends_at: datetime) -> dict[str, Any]:
    return {"review_id": str(review_id), "ends_at": iso(ends_at)}


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


# Everything a token's issue checks but the score, in one row (issue 26): the operators'
# definition of the scenario (JSON text: `scenarios.effective` parses each text once) and its
# purpose's current notice (`consent.notices.CURRENT_NOTICES`), the partner if it is active,
# since when the resident's consent to the scenario is valid (`pc_consent_since`, the rule
# `consent.gate` reads), the exclusions that apply (`active_exclusions`' function) and the
# override in force for the scenario (`OVERRIDE_BY_SCENARIO`, as `overrides` reads it). Each
# column costs the driver and SQLAlchemy ~10-25 µs a request: only what the checks read.
# `{resident}`: the resident, a parameter or a column of an enclosing statement.
_CHECKS = (
    "SELECT s.spec::text AS spec, s.version,"
    " n.id AS notice_id, n.version AS notice_version, n.hash AS notice_hash, n.published_at,"
    " p.id AS partner_id, p.kind, p.scenarios,"
    " pc_consent_since({resident}, :purpose, :now) AS consent_since,"
    " pc_exclusions({resident}, :now) AS exclusions, o.review_id, o.ends_at"
    " FROM (SELECT) AS one"
    " LEFT JOIN scenario_settings s ON s.code = :scenario"
    f" LEFT JOIN ({CURRENT_NOTICES}) n ON n.purpose = :purpose"
    " LEFT JOIN partners p ON p.client_id = :client_id AND p.active"
    f" LEFT JOIN LATERAL ({OVERRIDE_BY_SCENARIO}) o ON o.scenario = :scenario")
_CHECK_COLUMNS = ("spec", "version", "notice_id", "notice_version", "notice_hash",
                  "published_at", "partner_id", "kind", "scenarios", "consent_since",
                  "exclusions", "review_id", "ends_at")


class _Checks(NamedTuple):
    """`_CHECKS`' row."""

    spec: str | None
    version: int | None
    notice_id: uuid.UUID | None
    notice_version: int | None
    notice_hash: str | None
    published_at: datetime | None
    partner_id: uuid.UUID | None
    kind: str | None
    scenarios: list[str] | None
    consent_since: datetime | None
    exclusions: list[str] | None
    review_id: uuid.UUID | None
    ends_at: datetime | None


def _checks_alone() -> Any:
    return text(_CHECKS.format(resident=":resident"))


def _with_session_and_score() -> Any:
    """`_CHECKS` beside what `scoring.read` reads for a score (`stored_current`): the session
    token bound as `h`, its resident, the scoring consent, the active model and the latest
    score, its explanation read as NULL (`DECISION_COLUMNS`: a token shows none) — composed of
    the same pieces (`session_lookup`, `valid_consent`, `active_model_ref`, `latest_of`)."""
    at = bindparam("now", type_=DateTime(timezone=True))
    consent = valid_consent(Resident.id, literal(SCORING), at).lateral("consent")
    model = active_model_ref().subquery("model")
    score = latest_of(Resident.id, *DECISION_COLUMNS).lateral("score")
    checks = (text(_CHECKS.format(resident="residents.id"))
              .columns(*(column(c) for c in _CHECK_COLUMNS)).lateral("checks"))
    return (session_lookup(Resident.id, Resident.score_version, consent.c.categories,
                           model.c.id, model.c.spec_hash, *score.c, *checks.c)
            .outerjoin_from(Resident, consent, true())
            .outerjoin(model, true())
            .outerjoin(score, true())
            .outerjoin(checks, true()))


@dataclass(frozen=True)
class _Audience:
    """The partner a token is issued to (`rewards.tokens.issue`'s `partner`)."""

    id: uuid.UUID
    client_id: str


@dataclass(frozen=True)
class Checked:
    """A token's issue read in one round trip (`checked_read`): the session's resident, their
    current score and tier, and what the issue checks."""

    resident_id: uuid.UUID
    score: int
    tier: str
    checks: _Checks


def checked_read(uow: UnitOfWork, session_token: str, *, scenario: str, partner: str,
                 now: datetime) -> Checked | None:
    """The session's resident, their stored score and what a token's issue checks, in one
    statement on the unit's driver connection — when the session is live and the stored score
    is what `fresh_score` would return without computing (`scoring.read.stored_current`).
    None: the general path must answer (`auth.resident`, then `issue_token`), which refuses,
    recomputes or audits as it always has."""
    sql, fixed = pgcall.compiled("token_checks_with_session", uow.bind.dialect,
                                 _with_session_and_score)
    row = pgcall.fetch(uow, sql, {**fixed, "h": hash_key(session_token), "now": now,
                                  "scenario": scenario, "purpose": purpose_of(scenario),
                                  "client_id": partner})
    if row is None:
        return None
    resident_id, score_version, categories, model_id, spec_hash, *rest = row
    expires_at, revoked_at, status = rest[-3:]
    if not live(utc(expires_at), revoked_at, status, now):
        return None
    stored = rest[:len(DECISION_COLUMNS)]
    current = stored_current(score_version, categories, model_id, spec_hash, stored, now=now)
    if current is None:
        return None
    derived = current[2]
    assert derived.score is not None and derived.tier is not None
    return Checked(resident_id, derived.score, derived.tier,
                   _Checks(*rest[len(DECISION_COLUMNS):-3]))


def issue_checked(uow: UnitOfWork, checked: Checked, *, scenario: str, partner: str,
                  now: datetime, ctx: TokenContext) -> Issued:
    """`issue_token` from a `checked_read`: the same checks and refusals, in the same order,
    and the token written in one statement on the unit's driver connection."""
    found = _usable_for(uow, checked.resident_id, checked.checks, scenario=scenario,
                        partner=partner, now=now)
    decision = _decided(found, checked.checks, score=checked.score, tier=checked.tier)
    return issue(lambda: uow.session, resident_id=checked.resident_id,  # made only to read a key
                 partner=_Audience(_partner_id(checked.checks), partner), scenario=found,
                 limits=decision.limits, now=now, ctx=ctx,
                 write=lambda sql, params: pgcall.fetch(uow, sql, params))


def issue_token(uow: UnitOfWork, resident: Resident, *, scenario: str, partner: str,
                now: datetime, ctx: TokenContext) -> Issued:
    """A token for `scenario` addressed to the partner `partner` (a client id), if the resident
    is eligible, has consented, and the partner serves the scenario.

    Reads what it checks in one statement (`_CHECKS`), the score through `standing`, and
    writes the token in one more; refuses in the order of the checks: the scenario
    (`scenarios.usable`), the partner (`partner_by_client_id`'s refusal), whether it serves the
    scenario, the consent to the scenario (`consent.gate.require`'s refusal), to scoring, then
    eligibility. (`checked_read` and `issue_checked`: the same in two statements, when the
    stored score is current.)"""
    session = uow.session
    sql, fixed = pgcall.compiled("token_checks_alone", uow.bind.dialect, _checks_alone)
    checks = _Checks(*session.connection().exec_driver_sql(sql, {
        **fixed, "resident": resident.id, "scenario": scenario,
        "purpose": purpose_of(scenario), "client_id": partner, "now": now}).one())
    found = _usable_for(uow, resident.id, checks, scenario=scenario, partner=partner, now=now)
    score, tier = standing(uow, resident, now)
    if score is None or tier is None:
        raise ConsentRequired("entitlements need your consent to scoring",
                              detail_zh="使用信用权益需要您授权计算信用分", purpose="scoring")
    decision = _decided(found, checks, score=score, tier=tier)
    issued = issue(session, resident_id=resident.id,
                   partner=_Audience(_partner_id(checks), partner), scenario=found,
                   limits=decision.limits, now=now, ctx=ctx)
    uow.commit()
    return issued


def _usable_for(uow: UnitOfWork, resident_id: uuid.UUID, checks: _Checks, *, scenario: str,
                partner: str, now: datetime) -> Scenario:
    """The scenario if it is usable, the partner active and serving it, and the resident's
    consent to it valid; else the refusal, in that order."""
    found = usable(scenario, effective(scenario, checks.spec, checks.version), _notice(checks))
    if checks.partner_id is None:
        raise _unknown_partner(partner)
    if checks.kind not in found.partner_kinds or found.code not in (checks.scenarios or []):
        raise errors.PartnerNotServing(f"{partner} does not serve {found.code}",
                                       detail_zh="该机构未开通此场景")
    if checks.consent_since is None:
        require(uow.session, resident_id, found.purpose, now)  # refuses in the gate's words
    return found


def _notice(checks: _Checks) -> NoticeRef | None:
    if checks.notice_id is None:
        return None
    assert checks.notice_version is not None and checks.notice_hash is not None
    assert checks.published_at is not None
    return NoticeRef(checks.notice_id, checks.notice_version, checks.notice_hash,
                     checks.published_at)


def _decided(found: Scenario, checks: _Checks, *, score: int, tier: str) -> Decision:
    """The eligible decision (a review's override in force applied), or `NotEligible`."""
    override = (None if checks.review_id is None or checks.ends_at is None
                else _override(checks.review_id, checks.ends_at))
    excluded = set(found.exclusions) & set(checks.exclusions or ())
    decision = overridden(found, decide(found, score=score, tier=tier, exclusions=excluded),
                          tier=tier, override=override)
    if not decision.eligible:
        raise errors.NotEligible(
            "; ".join(r.en for r in decision.reasons),
            detail_zh="；".join(r.zh for r in decision.reasons),
            reasons=[r.code for r in decision.reasons])
    return decision


def _partner_id(checks: _Checks) -> uuid.UUID:
    assert checks.partner_id is not None  # _usable_for refused otherwise
    return checks.partner_id


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
