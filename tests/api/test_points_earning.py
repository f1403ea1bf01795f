"""Earning rules and expiry, run as the operators run them: `pengcheng jobs run`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.factories import bearer
from tests.support.points import PointsWorld, run_job
from tests.support.tokens import NORMAL, notice_id, withdraw

TIER_POINTS = {"excellent": 100, "very_good": 80, "good": 50, "fair": 20, "building": 0}


@pytest.fixture
def points_world(app, client, idp) -> PointsWorld:
    return PointsWorld(app, client, idp)


def tier(w) -> str:
    response = w.client.get("/api/v1/me/score", headers=bearer(w.resident))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["tier"]


def test_the_earning_job_awards_volunteer_hours_blood_donation_and_the_monthly_tier_once(
        points_world):
    w = points_world
    monthly = TIER_POINTS[tier(w)]
    first = run_job(w.app, "points.earn")
    assert first == {"monthly_tier": 1 if monthly else 0, "volunteer_hours": 1,
                     "blood_donation": 1}
    # 60 volunteer hours × 10 = 600, capped at 500 a record; a donation is 300
    assert w.balance() == 500 + 300 + monthly
    kinds = {h["rule"]: h for h in w.mine()["history"]}
    assert kinds["blood_donation"]["title"]["zh"] == "无偿献血积分"
    again = run_job(w.app, "points.earn")
    assert again == {"monthly_tier": 0, "volunteer_hours": 0, "blood_donation": 0}
    assert w.balance() == 500 + 300 + monthly
    assert w.reconciliation()["ok"]


def test_next_month_earns_the_monthly_tier_again_but_records_only_once(points_world, clock):
    w = points_world
    monthly = TIER_POINTS[tier(w)]
    run_job(w.app, "points.earn")
    clock.advance(days=31)
    w.relogin()
    second = run_job(w.app, "points.earn")
    assert second == {"monthly_tier": 1 if monthly else 0, "volunteer_hours": 0,
                      "blood_donation": 0}
    assert w.balance() == 800 + 2 * monthly


def test_without_a_scoring_consent_nothing_is_earned(points_world):
    w = points_world
    withdraw(w.client, w.resident, w.scoring_consent)
    assert run_job(w.app, "points.earn") == {"monthly_tier": 0, "volunteer_hours": 0,
                                             "blood_donation": 0}
    assert w.balance() == 0


def test_records_earn_only_in_categories_the_scoring_consent_covers(points_world):
    w = points_world
    withdraw(w.client, w.resident, w.scoring_consent)
    response = w.client.post("/api/v1/me/consents", headers=bearer(w.resident), json={
        "notice_id": notice_id(w.client, "scoring"), "separate_consent": True,
        "categories": [c for c in NORMAL if c != "volunteer"]})
    assert response.status_code in (200, 201), response.get_json()
    counts = run_job(w.app, "points.earn")
    assert counts["volunteer_hours"] == 0 and counts["blood_donation"] == 1


def test_points_expire_oldest_first_once_and_residents_see_it(points_world, clock):
    w = points_world
    w.give(300, expires_in=timedelta(days=10))
    w.give(200, expires_in=timedelta(days=40))
    assert w.redeem(100).status_code == 201  # drawn from the 300 that expire first
    soon = w.mine()
    assert soon["expiring"] == [{"points": 200, "expires_at": "2026-11-11T08:00:00Z"}]
    assert soon["expiring_total"] == 200
    clock.advance(days=11)
    w.relogin()
    assert w.balance() == 200  # not spendable any more, even before the job ran
    assert run_job(w.app, "points.expire")["points"] == 200
    assert run_job(w.app, "points.expire")["points"] == 0
    mine = w.mine()
    assert mine["balance"] == 200
    assert mine["history"][0]["kind"] == "expire" and mine["history"][0]["points"] == -200
    assert w.reconciliation()["ok"]


def test_a_redemption_cannot_spend_points_that_expired_before_the_job_ran(points_world, clock):
    w = points_world
    w.give(300, expires_in=timedelta(days=10))
    w.give(200, expires_in=timedelta(days=40))
    clock.advance(days=11)
    w.relogin()
    refused = w.redeem(201)
    assert refused.status_code == 422 and refused.get_json()["code"] == "limit_exceeded"
    assert w.redeem(200, "order-2").status_code == 201
    assert w.balance() == 0
    assert w.reconciliation()["ok"]


def test_the_expiry_job_reminds_residents_of_points_expiring_soon(points_world):
    w = points_world
    w.give(300, expires_in=timedelta(days=20))
    assert run_job(w.app, "points.expire")["reminded"] == 1
    assert run_job(w.app, "points.expire")["reminded"] == 0
    items = w.client.get("/api/v1/me/notifications", headers=bearer(w.resident)).get_json()
    reminder = next(n for n in items["items"] if n["kind"] == "points.expiring")
    assert "300" in reminder["body"]["zh"]
