"""GET /api/v1/me/records: every record held about the resident, and whether it counts now."""

from __future__ import annotations

import pytest

from tests.support.disputes import A, Residents
from tests.support.factories import bearer
from tests.support.tokens import rec


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def test_records_list_the_pinned_fields_with_source_severity_and_publicity(people):
    items = people.records()
    assert len(items) == 36 * 4 + 3 + 3 + 4
    for item in items:
        assert {"id", "category", "type", "occurred_at", "status"} <= set(item)
    penalty = people.record("admin_penalty", "2026-03-01")
    assert penalty["status"] == "active"
    assert penalty["severity"] == "general"
    assert penalty["publicity_ends_at"].startswith("2027-03-01")
    assert penalty["source"] == "测试数据源"
    assert penalty["counts"] is True
    assert penalty["dispute"] is None and penalty["repair"] is None
    late = people.record("payment_overdue")
    assert late["amount_fen"] == 12000 and late["severity"] == "minor"
    hours = people.record("service_hours")
    assert hours["quantity"] == 60 and hours["severity"] is None


def test_records_are_newest_first(people):
    times = [r["occurred_at"] for r in people.records()]
    assert times == sorted(times, reverse=True)


def test_a_record_outside_every_window_or_past_its_publicity_does_not_count(people, client):
    push_old = [rec(A, "old-violation", "traffic", "violation", "2024-01-01T00:00:00Z")]
    response = client.post("/ingest/v1/records", headers=bearer(people.source_key),
                           json={"records": push_old})
    assert response.get_json()["accepted"] == 1
    old = people.record("violation", "2024-01-01")
    assert old["publicity_ends_at"].startswith("2024-03-31")  # minor: 90 days
    assert old["counts"] is False


def test_without_consent_to_scoring_nothing_counts(people):
    assert people.records(people.a)
    people.client.post(f"/api/v1/me/consents/{people.scoring_consent}/withdraw",
                       headers=bearer(people.a))
    assert not any(r["counts"] for r in people.records())


def test_a_resident_sees_only_their_own_records(people):
    mine = {r["id"] for r in people.records(people.a)}
    theirs = {r["id"] for r in people.records(people.b)}
    assert mine and theirs and not (mine & theirs)


def test_records_need_a_session(client):
    response = client.get("/api/v1/me/records")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
