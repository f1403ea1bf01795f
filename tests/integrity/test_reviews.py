"""Issue 19, item 3: a human review's outcome names its effect, and the effect happens.

The attack: an operator decides a review "changed"; the resident is told "复核后已调整", and
before this change the score and the decision stayed exactly as they were. Now "changed" must
name its effect — a record corrected or removed (its source named), or an eligibility override
for a named scenario with an end date — and the effect happens in the decision's transaction;
"confirmed" carries its reasons. The resident's review shows the outcome and the effect, an
override shows on the entitlement and is honoured when a token is issued, and it ends on its
date.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.runtime import runtime
from core.audit import AuditEntry
from scoring.services import history
from tests.support.disputes import A, Residents, sign_in
from tests.support.factories import bearer, new_partner
from tests.support.tokens import ask_token, grant

SCENARIO = "medical_credit"


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def ask(people: Residents, **body: Any) -> dict[str, Any]:
    body.setdefault("reason", "该失信记录已经撤销，请人工复核")
    response = people.client.post("/api/v1/me/review-requests", headers=bearer(people.a),
                                  json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def decide(people: Residents, review_id: str, **body: Any) -> Any:
    return people.client.post(f"/admin/v1/reviews/{review_id}/decide",
                              headers=bearer(people.reviewer_key), json=body)


def mine(people: Residents) -> dict[str, Any]:
    return people.client.get("/api/v1/me/review-requests",
                             headers=bearer(people.a)).get_json()["items"][0]


def entitlement(people: Residents) -> dict[str, Any]:
    items = people.client.get("/api/v1/me/entitlements", headers=bearer(people.a)).get_json()
    return next(i for i in items["items"] if i["scenario"] == SCENARIO)


def score_points(app: Any, people: Residents) -> list[int]:
    from core.records import Record

    record_id = people.record("admin_penalty", "2026-03-01")["id"]
    with app.app_context(), runtime().uow() as uow:
        record = uow.session.get(Record, record_id)
        assert record is not None and record.resident_id is not None
        return [s.score for s in history(uow.session, record.resident_id)]


def test_changed_without_an_effect_is_refused_and_nothing_is_recorded(people):
    review = ask(people, subject="score")
    response = decide(people, review["id"], outcome="changed", note="复核后已调整")
    assert response.status_code == 422, response.get_json()
    assert mine(people)["status"] == "open"


def test_a_removal_takes_effect_with_the_decision(people, app, clock):
    before = people.score()
    debtor = people.record("dishonest_debtor")
    review = ask(people, subject="score")
    response = decide(people, review["id"], outcome="changed", note="法院已撤销失信决定",
                      effect={"kind": "record_removed", "record_id": debtor["id"]})
    assert response.status_code == 200, response.get_json()
    assert people.record("dishonest_debtor")["status"] == "removed"
    assert score_points(app, people)[0] > before  # stored with the decision
    shown = mine(people)
    assert shown["outcome"] == "changed"
    effect = shown["effect"]
    assert effect["kind"] == "record_removed" and effect["record_id"] == debtor["id"]
    assert effect["source"] == debtor["source"]  # the source is named
    assert "dishonest_debtor" not in [r["code"] for r in entitlement(people)["reasons"]]
    [note] = [n for n in people.notifications() if n["kind"] == "review_decided"]
    assert debtor["source"] in note["body"]["zh"]


def test_a_correction_takes_effect_with_the_decision(people):
    late = people.record("payment_overdue")
    review = ask(people, subject="score", reason="我是按时缴费的")
    response = decide(people, review["id"], outcome="changed", note="供水公司确认按时缴费",
                      effect={"kind": "record_corrected", "record_id": late["id"],
                              "correction": {"type": "payment_on_time"}})
    assert response.status_code == 200, response.get_json()
    corrected = next(r for r in people.records() if r["id"] == late["id"])
    assert corrected["type"] == "payment_on_time"
    effect = mine(people)["effect"]
    assert effect["correction"]["before"]["type"] == "payment_overdue"
    assert effect["correction"]["after"]["type"] == "payment_on_time"


def test_an_eligibility_override_is_visible_honoured_and_ends(people, app, client, clock, idp):
    hospital, _key = new_partner(app, "hospital", [SCENARIO])
    grant(client, people.a, f"scenario:{SCENARIO}")
    assert entitlement(people)["eligible"] is False
    refused = ask_token(client, people.a, SCENARIO, hospital.client_id)
    assert refused.status_code == 403, refused.get_json()

    review = ask(people, subject="eligibility", scenario=SCENARIO)
    ends = (clock.now() + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    response = decide(people, review["id"], outcome="changed", note="核实后准予先诊后付",
                      effect={"kind": "eligibility_override", "scenario": SCENARIO,
                              "ends_at": ends})
    assert response.status_code == 200, response.get_json()

    shown = entitlement(people)
    assert shown["eligible"] is True and shown["override"]["ends_at"] == ends
    assert shown["override"]["review_id"] == review["id"]
    assert mine(people)["effect"] == {**mine(people)["effect"], "kind": "eligibility_override",
                                      "scenario": SCENARIO, "ends_at": ends}
    issued = ask_token(client, people.a, SCENARIO, hospital.client_id)
    assert issued.status_code == 201, issued.get_json()
    with app.app_context(), runtime().uow() as uow:
        [entry] = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "review.decided")).all()
        assert entry.data["effect"]["kind"] == "eligibility_override"

    clock.advance(days=31)
    people.a = sign_in(client, idp, clock, A, "赵六")
    after = entitlement(people)
    assert after["eligible"] is False and after.get("override") is None


def test_confirmed_carries_its_reasons(people):
    review = ask(people, subject="score")
    response = decide(people, review["id"], outcome="confirmed",
                      note="失信记录由法院报送且仍在公示期内，分数计算无误")
    assert response.status_code == 200, response.get_json()
    shown = mine(people)
    assert shown["outcome"] == "confirmed" and shown["effect"] == {"kind": "confirmed"}
    assert "公示期" in shown["note"]
