"""Partners redeem and refund points; bad input is refused with nothing changed."""

from __future__ import annotations

import pytest

from tests.support.factories import bearer, new_partner
from tests.support.points import SCENARIO, PointsWorld


@pytest.fixture
def points_world(app, client, idp) -> PointsWorld:
    return PointsWorld(app, client, idp)


def test_a_merchant_redeems_points_with_the_residents_token(points_world):
    w = points_world
    w.give(1000)
    response = w.redeem(300, "order-1")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["points"] == 300 and body["out_order_no"] == "order-1"
    assert body["sub"].startswith("ps_") and body["refundable"] == 300
    assert "balance" not in body  # the partner never learns the resident's balance
    mine = w.mine()
    assert mine["balance"] == 700
    assert [(h["kind"], h["points"]) for h in mine["history"]] == [("redeem", -300),
                                                                    ("earn", 1000)]
    assert mine["history"][0]["partner"] == w.shop.name
    assert w.reconciliation()["ok"]


def test_a_retry_with_the_same_out_order_no_gets_the_first_answer_and_debits_once(points_world):
    w = points_world
    w.give(1000)
    token = w.points_token()
    first = w.redeem(300, "order-7", token=token)
    again = w.redeem(300, "order-7", token=token)
    assert first.status_code == again.status_code == 201
    assert first.data == again.data  # byte for byte: the stored answer, rendered alike
    assert w.balance() == 700
    rid = first.get_json()["redemption_id"]
    view = w.client.get(f"/partner/v1/points/redemptions/{rid}", headers=bearer(w.shop_key))
    assert view.data == first.data  # the redemption read back says the same, in the same bytes


def test_the_same_out_order_no_with_another_body_is_an_idempotency_conflict(points_world):
    w = points_world
    w.give(1000)
    token = w.points_token()
    assert w.redeem(300, "order-7", token=token).status_code == 201
    conflict = w.redeem(200, "order-7", token=token)
    assert conflict.status_code == 409
    assert conflict.get_json()["code"] == "idempotency_conflict"
    assert w.balance() == 700


@pytest.mark.parametrize("points", [0, -5, 1.5, "10", None, True, 10**12])
def test_points_that_are_not_a_positive_whole_number_are_refused(points_world, points):
    w = points_world
    w.give(1000)
    token = w.points_token()
    response = w.redeem(points, token=token)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert [e["field"] for e in problem["errors"]] == ["points"]
    assert w.balance() == 1000
    assert w.redeem(10, token=token).status_code == 201  # the token was not used up


def test_more_points_than_the_balance_is_limit_exceeded_and_changes_nothing(points_world):
    w = points_world
    w.give(100)
    token = w.points_token()
    response = w.redeem(101, token=token)
    assert response.status_code == 422
    assert response.get_json()["code"] == "limit_exceeded"
    assert "100" not in response.get_json()["detail"]  # the balance is not told to the partner
    assert w.balance() == 100
    again = w.redeem(100, token=token)  # same key, corrected body: the refusal was not kept
    assert again.status_code == 201, again.get_json()
    assert w.balance() == 0


def test_a_resident_without_points_gets_limit_exceeded(points_world):
    response = points_world.redeem(1)
    assert response.status_code == 422
    assert response.get_json()["code"] == "limit_exceeded"


def test_more_than_the_entitlement_allows_per_order_is_refused(points_world):
    w = points_world
    w.give(20000)
    response = w.redeem(10001)  # above every tier's max_points_per_order
    assert response.status_code == 422
    assert response.get_json()["code"] == "limit_exceeded"  # the same as over the balance
    assert w.balance() == 20000


def test_a_token_is_used_once(points_world):
    w = points_world
    w.give(1000)
    token = w.points_token()
    assert w.redeem(10, "a", token=token).status_code == 201
    replay = w.redeem(10, "b", token=token)
    assert replay.status_code == 409
    assert replay.get_json()["code"] == "token_replayed"
    assert w.balance() == 990


def test_a_partner_of_another_kind_is_refused(points_world):
    w = points_world
    w.give(1000)
    response = w.redeem(10, key=w.hospital_key)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "forbidden"
    assert w.balance() == 1000


def test_a_merchant_cannot_use_a_token_addressed_to_another_merchant(points_world):
    w = points_world
    w.give(1000)
    response = w.redeem(10, token=w.points_token(w.other_shop))
    assert response.status_code == 422
    assert response.get_json()["code"] == "token_wrong_audience"
    assert w.balance() == 1000


def test_a_merchant_not_serving_points_redemption_gets_no_token(points_world):
    w = points_world
    shop, _key = new_partner(w.app, "merchant", ["scenic_discount"])
    response = w.client.post("/api/v1/me/tokens", headers=bearer(w.resident),
                             json={"scenario": SCENARIO, "partner": shop.client_id})
    assert response.status_code == 422
    assert response.get_json()["code"] == "partner_not_serving"


def test_without_consent_to_points_redemption_the_token_dies(points_world):
    from tests.support.tokens import withdraw

    w = points_world
    w.give(1000)
    token = w.points_token()
    withdraw(w.client, w.resident, w.consents[SCENARIO])
    response = w.redeem(10, token=token)
    assert response.status_code == 403
    assert response.get_json()["code"] == "token_revoked"
    assert w.balance() == 1000


# -- refunds ------------------------------------------------------------------------------------

def _redeemed(w, points=300, order="order-1"):
    w.give(1000)
    response = w.redeem(points, order)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["redemption_id"]


def test_a_partial_and_then_the_rest_of_a_redemption_are_refunded(points_world):
    w = points_world
    rid = _redeemed(w)
    part = w.refund(rid, "rf-1", 100)
    assert part.status_code == 201, part.get_json()
    assert part.get_json().items() >= {"points": 100, "returned": 100, "refundable": 200}.items()
    assert w.balance() == 800
    rest = w.refund(rid, "rf-2")  # no points: all that is refundable
    assert rest.status_code == 201
    assert rest.get_json()["points"] == 200 and rest.get_json()["refundable"] == 0
    assert w.balance() == 1000
    view = w.client.get(f"/partner/v1/points/redemptions/{rid}", headers=bearer(w.shop_key))
    assert view.get_json()["refunded"] == 300
    assert w.reconciliation()["ok"]


def test_a_refund_above_what_is_left_is_refused_and_changes_nothing(points_world):
    w = points_world
    rid = _redeemed(w)
    assert w.refund(rid, "rf-1", 250).status_code == 201
    response = w.refund(rid, "rf-2", 51)
    assert response.status_code == 409
    assert response.get_json()["code"] == "refund_exceeds_redemption"
    assert response.get_json()["refundable"] == 50
    assert w.balance() == 950
    assert w.refund(rid, "rf-2", 50).status_code == 201  # the refusal kept nothing
    nothing_left = w.refund(rid, "rf-3")
    assert nothing_left.status_code == 409
    assert w.balance() == 1000


@pytest.mark.parametrize("points", [0, -1, 2.5, "5"])
def test_refund_points_must_be_a_positive_whole_number(points_world, points):
    w = points_world
    rid = _redeemed(w)
    response = w.refund(rid, "rf-1", points)
    assert response.status_code == 422
    assert w.balance() == 700


def test_a_refund_retry_with_the_same_out_refund_no_refunds_once(points_world):
    w = points_world
    rid = _redeemed(w)
    first = w.refund(rid, "rf-1", 100)
    again = w.refund(rid, "rf-1", 100)
    assert first.status_code == again.status_code == 201
    assert first.data == again.data  # byte for byte
    assert w.balance() == 800
    other = w.refund(rid, "rf-1", 50)
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_conflict"


def test_another_partners_redemption_is_not_found(points_world):
    w = points_world
    rid = _redeemed(w)
    refund = w.refund(rid, "rf-1", 100, key=w.other_shop_key)
    assert refund.status_code == 404
    assert refund.get_json()["code"] == "redemption_not_found"
    view = w.client.get(f"/partner/v1/points/redemptions/{rid}",
                        headers=bearer(w.other_shop_key))
    assert view.status_code == 404
    assert w.refund("not-a-uuid", "rf-2", 1).status_code == 404
    assert w.balance() == 700


def test_a_refund_after_the_points_expired_does_not_revive_them(points_world, clock):
    from datetime import timedelta

    w = points_world
    w.give(500, expires_in=timedelta(days=10))
    redeemed = w.redeem(200)
    assert redeemed.status_code == 201
    clock.advance(days=11)
    w.relogin()
    assert w.balance() == 0  # the other 300 have expired
    response = w.refund(redeemed.get_json()["redemption_id"], "rf-1")
    assert response.status_code == 201
    assert response.get_json().items() >= {"points": 200, "returned": 0, "expired": 200}.items()
    assert w.balance() == 0
    assert w.reconciliation()["ok"]
