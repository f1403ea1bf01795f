"""Credit repair (信用修复): eligibility by severity class and obligation, pledge, decision."""

from __future__ import annotations

import uuid

import pytest

from tests.support.disputes import A, Residents
from tests.support.factories import bearer, cli
from tests.support.tokens import push, rec


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def eligibility(people, record_id: str, token: str | None = None):
    return people.client.get(f"/api/v1/me/records/{record_id}/repair",
                             headers=bearer(token or people.a))


def apply(people, record_id: str, pledge=True, token: str | None = None, **extra):
    return people.client.post("/api/v1/me/repairs", headers=bearer(token or people.a),
                              json={"record_id": record_id, "pledge": pledge, **extra})


def decide(people, repair_id: str, decision: str, key: str | None = None, note: str = "已核实"):
    return people.client.post(f"/admin/v1/repairs/{repair_id}/decide",
                              headers=bearer(key or people.reviewer_key),
                              json={"decision": decision, "note": note})


def test_a_general_record_is_repairable_after_three_months(people):
    old = people.record("admin_penalty", "2026-03-01")
    body = eligibility(people, old["id"]).get_json()
    assert body["eligible"] is True and body["reasons"] == []
    assert body["minimum_days"] == 90 and body["earliest_at"].startswith("2026-05-30")
    assert body["obligation"] == "declared"
    assert "承诺" in body["pledge"]["zh"]


def test_repair_before_the_minimum_period_is_refused_with_the_date_and_nothing_changes(people):
    recent = people.record("admin_penalty", "2026-10-01")
    body = eligibility(people, recent["id"]).get_json()
    assert body["eligible"] is False
    assert [r["code"] for r in body["reasons"]] == ["minimum_period"]
    assert body["earliest_at"].startswith("2026-12-30")
    response = apply(people, recent["id"])
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "repair_not_eligible"
    assert problem["reasons"] == ["minimum_period"]
    assert problem["earliest_at"].startswith("2026-12-30")
    assert "2026-12-30" in problem["detail_zh"]
    assert people.client.get("/api/v1/me/repairs",
                             headers=bearer(people.a)).get_json()["items"] == []
    assert people.record("admin_penalty", "2026-10-01")["status"] == "active"


def test_a_debtor_listing_needs_the_obligation_fulfilled(people, client):
    debtor = people.record("dishonest_debtor")
    body = eligibility(people, debtor["id"]).get_json()
    assert body["minimum_days"] == 365 and body["obligation"] == "unmet"
    assert [r["code"] for r in body["reasons"]] == ["obligation_unmet"]
    assert apply(people, debtor["id"]).get_json()["code"] == "repair_not_eligible"
    push(client, people.source_key, [rec(A, "paid", "judicial", "obligation_fulfilled",
                                         "2026-08-01T00:00:00Z")])
    body = eligibility(people, debtor["id"]).get_json()
    assert body["eligible"] is True and body["obligation"] == "met"


def test_a_source_saying_the_obligation_is_unmet_blocks_repair(people, client):
    push(client, people.source_key, [rec(A, "unpaid", "tax", "arrears", "2026-01-01T00:00:00Z",
                                         amount_fen=50000,
                                         attributes={"obligation_met": False})])
    arrears = people.record("arrears")
    assert [r["code"] for r in eligibility(people, arrears["id"]).get_json()["reasons"]] == [
        "obligation_unmet"]


def test_a_positive_record_has_nothing_to_repair(people):
    donation = people.record("donation")
    body = eligibility(people, donation["id"]).get_json()
    assert body["eligible"] is False and body["reasons"][0]["code"] == "not_negative"


def test_someone_elses_or_an_unknown_record_is_not_found(people):
    theirs = people.record("admin_penalty", "2026-03-01", token=people.b)
    for record_id in (theirs["id"], str(uuid.uuid4())):
        assert eligibility(people, record_id).status_code == 404
        response = apply(people, record_id)
        assert response.status_code == 404 and response.get_json()["code"] == "record_not_found"


@pytest.mark.parametrize("pledge", [False, None])
def test_the_credit_pledge_is_required(people, pledge):
    old = people.record("admin_penalty", "2026-03-01")
    response = apply(people, old["id"], pledge=pledge)
    assert response.status_code == 422
    assert response.get_json()["code"] in ("pledge_required", "validation_failed")
    assert people.client.get("/api/v1/me/repairs",
                             headers=bearer(people.a)).get_json()["items"] == []


def test_an_approved_repair_stops_the_record_counting_and_shows_in_the_history(people, client):
    before = people.score()
    old = people.record("admin_penalty", "2026-03-01")
    response = apply(people, old["id"], statement="罚款已于 2026 年 4 月缴清")
    assert response.status_code == 201, response.get_json()
    repair = response.get_json()
    assert repair["status"] == "pending" and repair["statement"] == "罚款已于 2026 年 4 月缴清"
    assert people.record("admin_penalty", "2026-03-01")["counts"] is True  # until approved
    second = apply(people, old["id"])
    assert second.status_code == 409 and second.get_json()["code"] == "repair_pending"

    decided = decide(people, repair["id"], "approve", note="材料齐全，准予修复")
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "approved"
    record = people.record("admin_penalty", "2026-03-01")
    assert record["status"] == "repaired" and record["counts"] is False
    assert record["repair"]["status"] == "approved" and record["repair"]["decided_at"]
    after = people.score()
    assert after > before
    history = client.get("/api/v1/me/score/history",
                         headers=bearer(people.a)).get_json()["items"]
    assert [h["score"] for h in history[:2]] == [after, before]
    [note] = [n for n in people.notifications() if n["kind"] == "repair_decided"]
    assert "准予修复" in note["body"]["zh"] and note["data"]["status"] == "approved"
    assert eligibility(people, old["id"]).get_json()["reasons"][0]["code"] == "record_repaired"


def test_a_rejected_repair_leaves_the_record_counting(people):
    before = people.score()
    old = people.record("admin_penalty", "2026-03-01")
    repair = apply(people, old["id"]).get_json()
    assert decide(people, repair["id"], "reject", note="未提供缴款凭证").status_code == 200
    assert people.record("admin_penalty", "2026-03-01")["status"] == "active"
    assert people.score() == before
    mine = people.client.get("/api/v1/me/repairs", headers=bearer(people.a)).get_json()
    assert mine["items"][0]["status"] == "rejected"
    assert mine["items"][0]["note"] == "未提供缴款凭证"
    assert apply(people, old["id"]).status_code == 201  # may apply again


def test_deciding_needs_the_reviewer_role_and_happens_once(people):
    repair = apply(people, people.record("admin_penalty", "2026-03-01")["id"]).get_json()
    refused = decide(people, repair["id"], "approve", key=people.auditor_key)
    assert refused.status_code == 403
    assert people.record("admin_penalty", "2026-03-01")["status"] == "active"
    assert decide(people, repair["id"], "approve").status_code == 200
    again = decide(people, repair["id"], "reject")
    assert again.status_code == 409 and again.get_json()["code"] == "already_decided"


def test_the_operator_reading_an_application_is_logged_for_the_resident(people, client):
    repair = apply(people, people.record("admin_penalty", "2026-03-01")["id"]).get_json()
    queue = client.get("/admin/v1/repairs", headers=bearer(people.auditor_key)).get_json()
    assert [r["id"] for r in queue["items"]] == [repair["id"]]
    detail = client.get(f"/admin/v1/repairs/{repair['id']}",
                        headers=bearer(people.auditor_key)).get_json()
    assert detail["record"]["type"] == "admin_penalty"
    assert detail["eligibility"]["eligible"] is True
    assert [e["action"] for e in people.access_log()] == ["repair_read"]


def test_the_cli_lists_and_decides_repairs(people, app):
    repair = apply(people, people.record("admin_penalty", "2026-03-01")["id"]).get_json()
    assert repair["id"] in cli(app, "repairs", "list").output
    done = cli(app, "repairs", "decide", repair["id"], "--decision", "approve", "--note", "准予",
               "--operator", people.admin.client_id)
    assert done.exit_code == 0, done.output
    assert people.record("admin_penalty", "2026-03-01")["status"] == "repaired"
