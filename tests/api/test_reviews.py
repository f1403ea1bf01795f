"""Human review of automated decisions (PIPL art. 24): request, queue, outcome shown."""

from __future__ import annotations

import uuid

import pytest

from tests.support.disputes import Residents, sign_in
from tests.support.factories import bearer, cli


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def ask(people, token: str | None = None, **body):
    body.setdefault("reason", "我认为分数没有反映我的真实情况")
    return people.client.post("/api/v1/me/review-requests", headers=bearer(token or people.a),
                              json=body)


def test_a_score_review_attaches_the_explanation_the_resident_saw(people, client):
    score = client.get("/api/v1/me/score", headers=bearer(people.a)).get_json()
    response = ask(people, subject="score")
    assert response.status_code == 201, response.get_json()
    review = response.get_json()
    assert review["status"] == "open" and review["outcome"] is None
    snapshot = review["snapshot"]
    assert snapshot["score"] == score["score"] and snapshot["model"] == score["model"]
    assert snapshot["explanation"]["reasons"] == score["reasons"]
    assert snapshot["explanation"]["inputs_hash"] == score["inputs_hash"]


def test_an_eligibility_review_attaches_the_scenario_decision(people):
    review = ask(people, subject="eligibility", scenario="medical_credit").get_json()
    decision = review["snapshot"]["decision"]
    assert review["scenario"] == "medical_credit" and decision["scenario"] == "medical_credit"
    assert {"eligible", "reasons", "limits"} <= set(decision)


def test_an_eligibility_review_names_a_known_scenario(people):
    missing = ask(people, subject="eligibility")
    assert missing.status_code == 422
    unknown = ask(people, subject="eligibility", scenario="no_such_scenario")
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "unknown_scenario"
    assert people.client.get("/api/v1/me/review-requests",
                             headers=bearer(people.a)).get_json()["items"] == []


@pytest.mark.parametrize("body", [{"subject": "mood"}, {"subject": "score", "reason": " "},
                                  {"subject": "score", "reason": "x" * 1001}])
def test_bad_review_requests_are_refused(people, body):
    response = ask(people, **body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_without_a_score_there_is_nothing_to_review(people, client, idp, clock):
    token = sign_in(client, idp, clock, 30, "孙八")
    response = ask(people, token=token, subject="score")
    assert response.status_code == 403 and response.get_json()["code"] == "consent_required"


def test_the_reviewer_decides_and_the_resident_sees_the_outcome(people, client):
    review = ask(people, subject="score").get_json()
    queue = client.get("/admin/v1/reviews", headers=bearer(people.reviewer_key)).get_json()
    assert [r["id"] for r in queue["items"]] == [review["id"]]
    assert "snapshot" not in queue["items"][0] and "reason" not in queue["items"][0]
    detail = client.get(f"/admin/v1/reviews/{review['id']}",
                        headers=bearer(people.reviewer_key))
    assert detail.status_code == 200
    assert detail.get_json()["snapshot"] == review["snapshot"]
    [entry] = people.access_log()
    assert entry["actor"]["client_id"] == people.reviewer.client_id
    assert entry["action"] == "review_read" and entry["learned"]["subject"] == "score"

    response = client.post(f"/admin/v1/reviews/{review['id']}/decide",
                           headers=bearer(people.reviewer_key),
                           json={"outcome": "confirmed", "note": "经人工复核，评分计算无误"})
    assert response.status_code == 200, response.get_json()
    mine = client.get("/api/v1/me/review-requests", headers=bearer(people.a)).get_json()
    assert mine["items"][0]["status"] == "decided"
    assert mine["items"][0]["outcome"] == "confirmed"
    assert mine["items"][0]["note"] == "经人工复核，评分计算无误"
    assert any(n["kind"] == "review_decided" for n in people.notifications())
    assert client.get("/admin/v1/reviews", headers=bearer(people.reviewer_key)
                      ).get_json()["items"] == []


def test_an_auditor_reads_reviews_but_cannot_decide(people, client):
    review = ask(people, subject="score").get_json()
    assert client.get(f"/admin/v1/reviews/{review['id']}",
                      headers=bearer(people.auditor_key)).status_code == 200
    refused = client.post(f"/admin/v1/reviews/{review['id']}/decide",
                          headers=bearer(people.auditor_key),
                          json={"outcome": "changed", "note": "x"})
    assert refused.status_code == 403
    mine = client.get("/api/v1/me/review-requests", headers=bearer(people.a)).get_json()
    assert mine["items"][0]["status"] == "open"


def test_an_unknown_review_is_not_found_and_residents_see_only_their_own(people, client):
    ask(people, subject="score")
    assert client.get(f"/admin/v1/reviews/{uuid.uuid4()}",
                      headers=bearer(people.reviewer_key)).status_code == 404
    assert client.get("/api/v1/me/review-requests",
                      headers=bearer(people.b)).get_json()["items"] == []


def test_the_cli_lists_and_decides_reviews(people, app):
    review = ask(people, subject="score").get_json()
    assert review["id"] in cli(app, "reviews", "list").output
    nothing = cli(app, "reviews", "decide", review["id"], "--outcome", "changed",
                  "--note", "已更正一条记录", "--operator", people.reviewer.client_id)
    assert nothing.exit_code != 0  # a changed review names its effect
    penalty = people.record("admin_penalty", "2026-03-01")["id"]
    done = cli(app, "reviews", "decide", review["id"], "--outcome", "changed",
               "--note", "已删除一条记录", "--operator", people.reviewer.client_id,
               "--effect", f'{{"kind": "record_removed", "record_id": "{penalty}"}}')
    assert done.exit_code == 0, done.output
    assert people.record("admin_penalty", "2026-03-01")["status"] == "removed"
    again = cli(app, "reviews", "decide", review["id"], "--outcome", "confirmed",
                "--note", "x", "--operator", people.reviewer.client_id)
    assert again.exit_code != 0 and "already_decided" in again.output
