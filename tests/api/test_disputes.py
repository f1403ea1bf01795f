"""Disputes (异议): a disputed record is marked and keeps counting; operators resolve by a
deadline (tests/integrity/test_disputes.py: what happens when they do not)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.disputes import Residents, sign_in
from tests.support.factories import bearer, cli


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def test_a_disputed_record_is_marked_and_keeps_counting_until_decided(people):
    before = people.score()
    penalty = people.record("admin_penalty", "2026-03-01")
    response = people.dispute(penalty["id"], evidence="复议决定书编号 2026-118")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "open" and body["record_id"] == penalty["id"]
    assert body["due_at"] == "2026-11-16T08:00:00Z"  # 15 days, visible to the resident
    assert body["overdue"] is False and body["evidence"] == "复议决定书编号 2026-118"
    now = people.record("admin_penalty", "2026-03-01")
    assert now["status"] == "disputed" and now["counts"] is True
    assert now["dispute"]["id"] == body["id"]
    assert people.score() == before


def test_the_resident_lists_their_disputes_with_deadlines(people, client):
    late = people.record("payment_overdue")
    people.dispute(late["id"])
    items = client.get("/api/v1/me/disputes", headers=bearer(people.a)).get_json()["items"]
    assert [d["record_id"] for d in items] == [late["id"]]
    assert items[0]["due_at"] and items[0]["reason"] == "这笔罚款已被撤销"
    assert client.get("/api/v1/me/disputes", headers=bearer(people.b)).get_json()["items"] == []


def test_the_deadline_is_configurable(people, app):
    app.config["DISPUTE_DAYS"] = 5
    body = people.dispute(people.record("payment_overdue")["id"]).get_json()
    assert body["due_at"] == "2026-11-06T08:00:00Z"


def test_disputing_someone_elses_record_is_not_found_and_changes_nothing(people):
    theirs = people.record("admin_penalty", "2026-03-01", token=people.b)
    response = people.dispute(theirs["id"])
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "record_not_found"
    assert people.record("admin_penalty", "2026-03-01", token=people.b)["status"] == "active"


def test_disputing_an_unknown_record_is_not_found(people):
    response = people.dispute(str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.get_json()["code"] == "record_not_found"


def test_a_record_already_under_dispute_is_refused(people, client):
    penalty = people.record("admin_penalty", "2026-03-01")
    assert people.dispute(penalty["id"]).status_code == 201
    again = people.dispute(penalty["id"], reason="再次申请")
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_disputed"
    assert again.get_json()["detail_zh"]
    assert len(client.get("/api/v1/me/disputes", headers=bearer(people.a))
               .get_json()["items"]) == 1


@pytest.mark.parametrize("reason", ["", "   ", "长" * 1001])
def test_an_empty_or_too_long_reason_is_refused_and_nothing_changes(people, reason):
    penalty = people.record("admin_penalty", "2026-03-01")
    response = people.dispute(penalty["id"], reason=reason)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert people.record("admin_penalty", "2026-03-01")["status"] == "active"


def test_a_missing_reason_lists_the_field(people):
    response = people.client.post("/api/v1/me/disputes", headers=bearer(people.a),
                                  json={"record_id": people.record("payment_overdue")["id"]})
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["reason"]


def test_a_flood_of_disputes_is_rate_limited(people, app):
    app.config["RATE_LIMIT_RIGHTS"] = "2/3600"
    ids = [people.record("admin_penalty", "2026-03-01")["id"],
           people.record("admin_penalty", "2026-10-01")["id"],
           people.record("payment_overdue")["id"]]
    assert [people.dispute(i).status_code for i in ids] == [201, 201, 429]
    assert people.record("payment_overdue")["status"] == "active"


def test_removed_on_resolution_stays_out_and_the_resident_is_notified(people):
    before = people.score()
    penalty = people.record("admin_penalty", "2026-03-01")
    dispute = people.dispute(penalty["id"]).get_json()
    assert people.score() == before  # it keeps counting until decided
    response = people.resolve(dispute["id"], "removed", note="处罚已被复议撤销")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["outcome"] == "removed"
    record = people.record("admin_penalty", "2026-03-01")
    assert record["status"] == "removed" and record["counts"] is False
    assert people.score() > before
    [note] = [n for n in people.notifications() if n["kind"] == "dispute_resolved"]
    assert "处罚已被复议撤销" in note["body"]["zh"]
    assert note["data"]["outcome"] == "removed"


def test_upheld_on_resolution_still_counts_and_the_score_stays(people, client):
    before = people.score()
    penalty = people.record("admin_penalty", "2026-03-01")
    dispute = people.dispute(penalty["id"]).get_json()
    assert people.score() == before
    assert people.resolve(dispute["id"], "upheld", note="记录准确").status_code == 200
    assert people.record("admin_penalty", "2026-03-01")["status"] == "active"
    assert people.score() == before
    mine = client.get("/api/v1/me/disputes", headers=bearer(people.a)).get_json()["items"]
    assert mine[0]["outcome"] == "upheld" and mine[0]["note"] == "记录准确"


def test_corrected_on_resolution_replaces_the_wrong_values_and_keeps_both(people):
    before = people.score()
    late = people.record("payment_overdue")
    dispute = people.dispute(late["id"], reason="我是按时缴费的").get_json()
    response = people.resolve(dispute["id"], "corrected", note="供水公司确认按时缴费",
                              correction={"type": "payment_on_time"})
    assert response.status_code == 200, response.get_json()
    correction = response.get_json()["correction"]
    assert correction["before"]["type"] == "payment_overdue"
    assert correction["after"] == {**correction["after"], "type": "payment_on_time",
                                   "severity": None, "publicity_ends_at": None}
    record = next(r for r in people.records() if r["id"] == late["id"])
    assert record["type"] == "payment_on_time" and record["status"] == "active"
    assert record["counts"] is True
    assert people.score() > before


@pytest.mark.parametrize("correction", [None, {}, {"category": "tax"}, {"type": "arrears"},
                                        {"severity": "catastrophic"},
                                        {"occurred_at": "2030-01-01T00:00:00Z"}])
def test_a_bad_correction_is_refused_and_the_dispute_stays_open(people, correction):
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    response = people.resolve(dispute["id"], "corrected", correction=correction)
    assert response.status_code == 422
    assert people.record("payment_overdue")["status"] == "disputed"


def test_resolving_needs_the_reviewer_or_admin_role(people):
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    refused = people.resolve(dispute["id"], "removed", key=people.auditor_key)
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "forbidden"
    assert people.record("payment_overdue")["status"] == "disputed"
    assert people.resolve(dispute["id"], "removed", key=people.admin_key).status_code == 200


def test_residents_cannot_use_the_operator_queue(people, client):
    assert client.get("/admin/v1/disputes", headers=bearer(people.a)).status_code == 401


def test_a_dispute_is_resolved_once(people):
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    assert people.resolve(dispute["id"], "removed").status_code == 200
    again = people.resolve(dispute["id"], "upheld")
    assert again.status_code == 409 and again.get_json()["code"] == "already_decided"
    assert people.record("payment_overdue")["status"] == "removed"


def test_a_resolved_record_can_be_disputed_again(people):
    late = people.record("payment_overdue")
    first = people.dispute(late["id"]).get_json()
    people.resolve(first["id"], "upheld")
    assert people.dispute(late["id"], reason="有新证据").status_code == 201


def test_the_queue_lists_open_disputes_without_personal_detail(people, client):
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    response = client.get("/admin/v1/disputes", headers=bearer(people.auditor_key))
    assert response.status_code == 200
    [item] = response.get_json()["items"]
    assert item["id"] == dispute["id"] and item["category"] == "utilities"
    assert "reason" not in item and "evidence" not in item
    assert people.access_log() == []  # a queue listing is not a read of the resident's data


def test_an_operator_reading_a_dispute_is_in_the_residents_access_log(people, client):
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    response = client.get(f"/admin/v1/disputes/{dispute['id']}",
                          headers=bearer(people.auditor_key))
    assert response.status_code == 200
    body = response.get_json()
    assert body["reason"] == "这笔罚款已被撤销"
    assert body["record"]["type"] == "payment_overdue"
    [entry] = people.access_log()
    assert entry["actor"] == {"kind": "operator", "client_id": people.auditor.client_id,
                              "name": people.auditor.name}
    assert entry["action"] == "dispute_read"
    assert entry["learned"]["dispute_id"] == dispute["id"]
    assert people.access_log(people.b) == []


def test_overdue_disputes_are_flagged_in_the_queue_and_by_the_job(people, app, client, clock,
                                                                 idp):
    late = people.dispute(people.record("payment_overdue")["id"]).get_json()
    people.dispute(people.record("admin_penalty", "2026-03-01")["id"])
    clock.advance(days=16)
    queue = client.get("/admin/v1/disputes", headers=bearer(people.reviewer_key)).get_json()
    assert [d["overdue"] for d in queue["items"]] == [True, True]
    overdue = client.get("/admin/v1/disputes?overdue=true",
                         headers=bearer(people.reviewer_key)).get_json()["items"]
    assert late["id"] in {d["id"] for d in overdue}
    first = cli(app, "jobs", "run", "--only", "disputes.overdue")
    assert first.exit_code == 0, first.output
    assert '"flagged": 2' in first.output
    assert '"flagged": 0' in cli(app, "jobs", "run", "--only", "disputes.overdue").output
    token = sign_in(client, idp, clock, 21, "赵六")
    kinds = [n["kind"] for n in people.notifications(token)]
    assert kinds.count("dispute_overdue") == 2
    mine = client.get("/api/v1/me/disputes", headers=bearer(token)).get_json()["items"]
    assert all(d["overdue"] for d in mine)


def test_the_cli_lists_and_resolves_disputes(people, app):
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    listed = cli(app, "disputes", "list")
    assert listed.exit_code == 0 and dispute["id"] in listed.output
    refused = cli(app, "disputes", "resolve", dispute["id"], "--outcome", "removed",
                  "--note", "核实", "--operator", people.auditor.client_id)
    assert refused.exit_code != 0 and "reviewer or admin" in refused.output
    done = cli(app, "disputes", "resolve", dispute["id"], "--outcome", "corrected",
               "--note", "核实", "--correction", '{"amount_fen": 100}',
               "--operator", people.reviewer.client_id)
    assert done.exit_code == 0, done.output
    assert '"outcome": "corrected"' in done.output
    assert people.record("payment_overdue")["amount_fen"] == 100
    again = cli(app, "disputes", "resolve", dispute["id"], "--outcome", "removed",
                "--note", "核实", "--operator", people.reviewer.client_id)
    assert again.exit_code != 0 and "already_decided" in again.output
