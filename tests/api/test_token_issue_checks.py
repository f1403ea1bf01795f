"""A token's issue reads what it checks in one statement (issue 26): it grants and refuses
exactly as the checks made one by one do (`scenarios.get`, `partner_by_client_id`,
`consent.gate.require`, `standing`, `active_exclusions`, `overrides`, `decide`), whatever the
scenario, the partner, the consents, the exclusions and the overrides. In the common case (a
live session, a current stored score) the session, the score and the checks are one
statement (`checked_read`, `issue_checked`), which answers exactly as the general path; and a
change to a scenario or a partner made elsewhere (another process) is seen by the very next
token."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from app.runtime import runtime
from consent.gate import ConsentRequired, require
from core.errors import DomainError
from core.sessions import resident_for_session
from rewards import errors
from rewards.eligibility import decide, overridden
from rewards.entitlements import (
    checked_read,
    issue_checked,
    issue_token,
    overrides,
    partner_by_client_id,
    standing,
)
from rewards.exclusions import active_exclusions
from rewards.models import IssuedToken
from rewards.scenarios import get, put
from tests.conftest import new_app
from tests.support.factories import bearer, new_operator, new_partner
from tests.support.statements import statements
from tests.support.tokens import ask_token, claims_of, grant, push, rec, withdraw

pytestmark = pytest.mark.services

MERCHANT = ["points_redemption", "fewer_documents", "priority_service", "car_repair_discount"]
DEPOSIT = ["deposit_waiver_bike", "library_no_deposit", "rental_deposit_waiver",
           "hotel_no_deposit", "not_yet_published"]


def one_by_one(uow: Any, resident: Any, *, scenario: str, partner: str, now: Any
               ) -> tuple[Any, dict[str, Any]]:
    """The checks one statement each, in the order token issue makes them (the reference)."""
    session = uow.session
    found = get(session, scenario)
    at = partner_by_client_id(session, partner)
    if at.kind not in found.partner_kinds or found.code not in (at.scenarios or []):
        raise errors.PartnerNotServing(f"{at.client_id} does not serve {found.code}",
                                       detail_zh="该机构未开通此场景")
    require(session, resident.id, found.purpose, now)
    score, tier = standing(uow, resident, now)
    if score is None:
        raise ConsentRequired("entitlements need your consent to scoring",
                              detail_zh="使用信用权益需要您授权计算信用分", purpose="scoring")
    excluded = active_exclusions(session, resident.id, now, set(found.exclusions))
    decision = overridden(found, decide(found, score=score, tier=tier, exclusions=excluded),
                          tier=tier, override=overrides(session, resident.id, now).get(found.code))
    if not decision.eligible:
        raise errors.NotEligible(
            "; ".join(r.en for r in decision.reasons),
            detail_zh="；".join(r.zh for r in decision.reasons),
            reasons=[r.code for r in decision.reasons])
    return found, decision.limits


def outcome(app: Any, session_token: str, how: str, scenario: str, partner: str) -> Any:
    """What `how` ("issue": `issue_token`; "checked": `checked_read` and `issue_checked`, or
    "general" when it leaves the answer to the general path; else the reference) answers: the
    refusal's every field, or what the token was issued with (scenario, disclosure, lifetime,
    limits)."""
    with app.app_context(), runtime().uow() as uow:
        now = runtime().clock.now()
        resident = resident_for_session(uow.session, session_token, now)
        try:
            if how in ("issue", "checked"):
                if how == "checked":
                    checked = checked_read(uow, session_token, scenario=scenario,
                                           partner=partner, now=now)
                    if checked is None:
                        return "general"
                    assert checked.resident_id == resident.id
                    issued = issue_checked(uow, checked, scenario=scenario, partner=partner,
                                           now=now, ctx=runtime().tokens)
                else:
                    issued = issue_token(uow, resident, scenario=scenario, partner=partner,
                                         now=now, ctx=runtime().tokens)
                claims = claims_of(issued.token)
                limits = uow.session.scalar(select(IssuedToken.limits).where(
                    IssuedToken.jti == claims["jti"]))
                return ("issued", claims["scn"], claims["aud"], claims["ent"],
                        claims["exp"] - claims["iat"], limits)
            found, limits = one_by_one(uow, resident, scenario=scenario, partner=partner,
                                       now=now)
            return ("issued", found.code, partner, found.discloses,
                    found.token_ttl_seconds, limits)
        except DomainError as exc:
            return (type(exc).__name__, exc.code, exc.status, exc.detail, exc.detail_zh,
                    exc.extra)


def test_the_one_statement_grants_and_refuses_as_the_checks_one_by_one(world, app, client):
    merchant, _ = new_partner(app, "merchant", MERCHANT)
    lender, _ = new_partner(app, "deposit_partner", DEPOSIT)
    bare, _ = new_partner(app, "hospital", [])  # registered for nothing
    closed, _ = new_partner(app, "hospital", ["medical_credit"])
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(text("UPDATE partners SET active = false WHERE id = :id"),
                            {"id": closed.id})
        uow.commit()
    with app.app_context(), runtime().uow() as uow:  # made by an operator, no notice yet
        spec = {**get(uow.session, "deposit_waiver_bike").as_dict(), "code": "not_yet_published"}
    with app.app_context(), runtime().uow() as uow:
        put(uow, "not_yet_published", spec, actor="test", now=runtime().clock.now())
    with app.app_context(), runtime().uow() as uow:  # switched off by an operator
        put(uow, "hotel_no_deposit", {"active": False}, actor="test",
            now=runtime().clock.now(), merge=True)
    for purpose in ("scenario:points_redemption", "scenario:priority_service",
                    "scenario:rental_deposit_waiver", "scenario:hotel_no_deposit"):
        grant(client, world.resident, purpose)
    asks = [("medical_credit", world.hospital.client_id), ("medical_credit", bare.client_id),
            ("medical_credit", world.bikes.client_id), ("medical_credit", closed.client_id),
            ("medical_credit", "no-such-partner"), ("no_such_scenario", merchant.client_id),
            ("deposit_waiver_bike", world.bikes.client_id),
            ("deposit_waiver_bike", lender.client_id)]
    asks += [(s, merchant.client_id) for s in MERCHANT]
    asks += [(s, lender.client_id) for s in DEPOSIT]

    def agree(stage: str, *, checked: bool = True) -> list[Any]:
        seen = []
        for scenario, partner in asks:
            issued = outcome(app, world.resident, "issue", scenario, partner)
            reference = outcome(app, world.resident, "reference", scenario, partner)
            assert issued == reference, (stage, scenario, partner)
            fast = outcome(app, world.resident, "checked", scenario, partner)
            assert fast == (issued if checked else "general"), (stage, scenario, partner)
            seen.append(issued[0])
        return seen

    first = agree("consented, no exclusion")
    assert {"issued", "PartnerNotServing", "UnknownPartner", "UnknownScenario",
            "ScenarioNotAvailable", "ConsentRequired"} <= set(first)

    push(client, world.source_key, [rec(7, "dd1", "judicial", "dishonest_debtor",
                                        "2026-10-01T00:00:00Z", severity="serious")])
    assert "NotEligible" in agree("a dishonest-debtor record")

    _reviewer, reviewer_key = new_operator(app, "reviewer")
    asked = client.post("/api/v1/me/review-requests", headers=bearer(world.resident),
                        json={"subject": "eligibility", "scenario": "medical_credit",
                              "reason": "该失信记录已经撤销，请人工复核"})
    assert asked.status_code == 201, asked.get_json()
    with app.app_context():
        ends = runtime().clock.now() + timedelta(days=30)
    decided = client.post(
        f"/admin/v1/reviews/{asked.get_json()['id']}/decide", headers=bearer(reviewer_key),
        json={"outcome": "changed", "note": "核实后准予先诊后付",
              "effect": {"kind": "eligibility_override", "scenario": "medical_credit",
                         "ends_at": ends.isoformat().replace("+00:00", "Z")}})
    assert decided.status_code == 200, decided.get_json()
    overridden_stage = agree("an override in force for medical_credit")
    assert overridden_stage[0] == "issued"

    withdraw(client, world.resident, world.consents["medical_credit"])
    assert "ConsentRequired" in agree("the consent to a scenario withdrawn")
    withdraw(client, world.resident, world.scoring_consent)
    assert "ConsentRequired" in agree("the consent to scoring withdrawn", checked=False)


def _issue_seen(app: Any, client: Any, world: Any) -> list[str]:
    with statements(app) as seen:
        response = ask_token(client, world.resident, "medical_credit", world.hospital.client_id)
    assert response.status_code == 201, response.get_json()
    assert len([s for s in seen if "issued_tokens" in s]) == 1
    return seen


def _checks(seen: list[str]) -> list[str]:
    """The statements that read the scenario, notice, partner, consent, exclusions, override."""
    found = [s for s in seen if "scenario_settings" in s or "partners" in s
             or "consent_notices" in s or "pc_exclusions" in s or "pc_overrides" in s]
    assert all("pc_consent_since" in s and "pc_exclusions" in s for s in found)
    return found


def test_with_a_current_score_a_token_is_two_statements(world, app, client):
    world.token()  # the score is computed and stored: what follows is the common case
    seen = _issue_seen(app, client, world)
    assert len(seen) == 2, seen  # session, score and checks; the token
    assert _checks(seen) == seen[:1] and "sessions" in seen[0] and "scores" in seen[0]


def test_without_a_current_score_the_general_path_checks_in_one_statement(world, app, client):
    for _stage in ("no score stored yet", "a record arrived: the score is stale"):
        seen = _issue_seen(app, client, world)
        assert len([s for s in seen if "INSERT INTO scores" in s]) == 1  # computed, stored
        first, general = _checks(seen)  # the common case's read, then the general path's
        assert "sessions" in first and "sessions" not in general
        push(client, world.source_key, [rec(7, "late1", "utilities", "payment_overdue",
                                            "2026-11-01T00:00:00Z", amount_fen=5000)])


@pytest.fixture
def elsewhere(config, clock, tmp_path, monkeypatch) -> Any:
    """The same service in another process: another app on the same database."""
    other = new_app(config, clock, tmp_path / "elsewhere", monkeypatch)
    yield other
    other.extensions["pengcheng"].engine.dispose()
    other.extensions["pengcheng"].health_engine.dispose()


def _lifetime(client: Any, world: Any, scenario: str = "deposit_waiver_bike",
              partner: Any = None) -> Any:
    response = ask_token(client, world.resident, scenario, (partner or world.bikes).client_id)
    if response.status_code != 201:
        return response.get_json()["code"]
    claims = claims_of(response.get_json()["token"])
    return claims["exp"] - claims["iat"]


def test_a_scenario_changed_elsewhere_is_seen_by_the_next_token(world, client, elsewhere):
    assert _lifetime(client, world) == 120  # the shipped definition
    for ttl in (60, 90, 60):  # each change a new stored text; back to an earlier one too
        with elsewhere.app_context(), runtime().uow() as uow:
            put(uow, "deposit_waiver_bike", {"token_ttl_seconds": ttl}, actor="test",
                now=runtime().clock.now(), merge=True)
        assert _lifetime(client, world) == ttl
    with elsewhere.app_context(), runtime().uow() as uow:
        put(uow, "deposit_waiver_bike", {"active": False}, actor="test",
            now=runtime().clock.now(), merge=True)
    assert _lifetime(client, world) == "unknown_scenario"
    with elsewhere.app_context(), runtime().uow() as uow:  # the row edited in place, same text
        uow.session.execute(text("UPDATE scenario_settings SET spec = CAST(:spec AS json),"
                                 " version = version + 1 WHERE code = 'deposit_waiver_bike'"),
                            {"spec": json.dumps({**get_spec(uow), "active": True,
                                                 "token_ttl_seconds": 45})})
        uow.commit()
    assert _lifetime(client, world) == 45


def get_spec(uow: Any) -> dict[str, Any]:
    return dict(uow.session.scalar(text(
        "SELECT spec FROM scenario_settings WHERE code = 'deposit_waiver_bike'")))


def test_a_partner_changed_elsewhere_is_seen_by_the_next_token(world, client, elsewhere):
    assert _lifetime(client, world) == 120
    with elsewhere.app_context(), runtime().uow() as uow:
        uow.session.execute(text("UPDATE partners SET scenarios = CAST('[]' AS json)"
                                 " WHERE id = :id"), {"id": world.bikes.id})
        uow.commit()
    assert _lifetime(client, world) == "partner_not_serving"
    with elsewhere.app_context(), runtime().uow() as uow:
        uow.session.execute(text("UPDATE partners SET active = false,"
                                 " scenarios = CAST('[\"deposit_waiver_bike\"]' AS json)"
                                 " WHERE id = :id"), {"id": world.bikes.id})
        uow.commit()
    assert _lifetime(client, world) == "unknown_partner"


def _score_edited(app: Any, **values: Any) -> None:
    from scoring.store import Score

    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(update(Score).values(**values))
        uow.commit()


def _tampered(app: Any) -> int:
    from core import audit

    with app.app_context(), runtime().uow() as uow:
        return len(audit.entries(uow.session, action="score.tampered").items)


@pytest.mark.parametrize("edit", ["score", "tier", "inputs", "inputs_hash"])
def test_a_token_is_never_decided_on_an_edited_score_row(world, app, client, clock, edit):
    """The token's read fetches no explanation (`DECISION_COLUMNS`): the row's score and tier
    are still derived from its inputs, and the inputs held to their stored hash. An edit to
    any of them sends the issue to the general path, which audits it and recomputes."""
    from scoring.store import Score

    world.token()  # a current stored score, with its explanation (scored on read)
    with app.app_context(), runtime().uow() as uow:
        row = uow.session.scalars(select(Score)).one()
        honest, features = row.score, dict(row.inputs["features"])
    first = next(code for code, value in features.items() if value is not None)
    _score_edited(app, **{
        "score": {"score": Score.score + 40},
        "tier": {"tier": "building" if row.tier != "building" else "excellent"},
        "inputs": {"inputs": {**row.inputs, "features": {**features, first: -1}}},
        "inputs_hash": {"inputs_hash": "0" * 64},
    }[edit])
    with app.app_context(), runtime().uow() as uow:
        assert checked_read(uow, world.resident, scenario="medical_credit",
                            partner=world.hospital.client_id, now=clock.now()) is None
    clock.advance(seconds=1)  # the recomputed row is the later one
    world.token()
    assert _tampered(app) == 1
    with app.app_context(), runtime().uow() as uow:
        assert uow.session.scalars(select(Score.score).order_by(
            Score.computed_at.desc())).first() == honest


def test_an_edited_explanation_changes_no_token_and_the_score_read_finds_it(
        world, app, client, clock):
    """A token shows no explanation and is decided without one; the score read, which shows
    it, still finds the edit, audits it and answers the recomputed score."""
    from scoring.store import Score

    world.token()
    with app.app_context(), runtime().uow() as uow:
        explanation = uow.session.scalars(select(Score.explanation)).one()
    assert explanation is not None
    _score_edited(app, explanation={**explanation, "score": explanation["score"] + 40})
    with app.app_context(), runtime().uow() as uow:
        found = checked_read(uow, world.resident, scenario="medical_credit",
                             partner=world.hospital.client_id, now=clock.now())
    assert found is not None and found.score == explanation["score"]
    assert len(_issue_seen(app, client, world)) == 2  # the common case, unchanged
    assert _tampered(app) == 0
    clock.advance(seconds=1)
    answer = client.get("/api/v1/me/score", headers=bearer(world.resident)).get_json()
    assert answer["score"] == explanation["score"]
    assert _tampered(app) == 1
