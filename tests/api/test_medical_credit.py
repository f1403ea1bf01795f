"""先诊后付 through the HTTP API: hold at registration, bill at checkout, repay, or fall overdue."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import jwt
import pytest

from tests.support.factories import T0, bearer
from tests.support.medical_credit import Credit, problem


def token_claims(token: str) -> str:
    """The claims of a token as the hospital can read them (no key needed)."""
    return json.dumps(jwt.decode(token, options={"verify_signature": False}))


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_hospital_holds_then_bills_and_the_resident_sees_line_hold_and_bill(credit):
    line = credit.mine()["line_fen"]
    assert line > 0 and credit.mine()["available_fen"] == line

    held = credit.hold(80000)
    assert held["status"] == "held" and held["amount_fen"] == 80000
    assert "available_fen" not in held and len(held["sub"]) >= 16
    assert at(held["expires_at"]) == T0 + timedelta(hours=24)
    view = credit.mine()
    assert (view["held_fen"], view["owed_fen"], view["available_fen"]) == (80000, 0, line - 80000)
    assert [h["authorization_id"] for h in view["holds"]] == [held["authorization_id"]]
    assert view["holds"][0]["hospital"]["client_id"] == credit.hospital.client_id

    bill = credit.capture(held["authorization_id"], 52000).get_json()
    assert bill["amount_fen"] == 52000 and bill["released_fen"] == 28000
    assert bill["status"] == "open" and at(bill["due_at"]) == T0 + timedelta(days=7)
    view = credit.mine()
    assert (view["held_fen"], view["owed_fen"], view["available_fen"]) == (0, 52000, line - 52000)
    assert view["holds"] == [] and view["bills"][0]["bill_id"] == bill["bill_id"]
    assert view["bills"][0]["owed_fen"] == 52000
    assert credit.notifications("medical_credit_bill")[0]["data"]["bill_id"] == bill["bill_id"]


def test_the_hospital_learns_the_hold_never_the_line_score_or_tier(credit):
    held = credit.hold(1000)
    assert set(held) == {"authorization_id", "sub", "out_request_no", "amount_fen",
                         "status", "created_at", "expires_at", "closed_at"}
    log = credit.client.get("/api/v1/me/access-log", headers=bearer(credit.resident)).get_json()
    hold_entry = next(e for e in log["items"] if e["action"] == "credit_hold")
    assert hold_entry["learned"] == {"sub": held["sub"], "amount_fen": 1000}


def test_holding_more_than_is_available_is_refused_and_leaves_the_token_usable(credit):
    line = credit.mine()["line_fen"]
    token = credit.token()
    body = problem(credit.authorize(line + 1, token=token), 422, "limit_exceeded")
    assert str(line) not in str(body) and str(line // 100) not in str(body)
    assert credit.balances()[1:] == (0, 0)
    assert credit.authorize(line, token=token).status_code == 201


def test_a_second_hold_only_gets_what_the_first_left(credit):
    line = credit.mine()["line_fen"]
    credit.hold(line - 1000)
    over = problem(credit.authorize(2000), 422, "limit_exceeded")
    assert credit.hold(1000)["status"] == "held"
    # Over the line itself or over what other holds leave: the same answer, byte for byte.
    again = problem(credit.authorize(line + 1), 422, "limit_exceeded")
    assert {**again, "request_id": None} == {**over, "request_id": None}


def test_retrying_an_authorization_returns_the_first_answer_and_holds_once(credit):
    token = credit.token()
    first = credit.authorize(5000, token=token, no="REG-1")
    again = credit.authorize(5000, token=token, no="REG-1")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert credit.mine()["held_fen"] == 5000
    problem(credit.authorize(6000, token=token, no="REG-1"), 409, "idempotency_conflict")
    assert credit.mine()["held_fen"] == 5000


def test_replayed_and_expired_tokens_are_refused(credit, clock):
    token = credit.token()
    credit.authorize(100, token=token)
    problem(credit.authorize(100, token=token), 409, "token_replayed")
    stale = credit.token()
    clock.advance(minutes=6)
    problem(credit.authorize(100, token=stale), 422, "token_expired")
    assert credit.mine()["held_fen"] == 100


def test_zero_negative_and_non_integer_amounts_are_refused(credit):
    for amount in (0, -100, 10.5, "100"):
        problem(credit.authorize(amount), 422, "validation_failed")
    held = credit.hold(1000)
    for amount in (0, -1):
        problem(credit.capture(held["authorization_id"], amount), 422, "validation_failed")
    assert credit.balances()[1:] == (1000, 0)


def test_capturing_more_than_the_hold_is_refused(credit):
    held = credit.hold(1000)
    body = problem(credit.capture(held["authorization_id"], 1001), 422, "amount_exceeds_hold")
    assert body["hold_fen"] == 1000
    assert credit.balances()[1:] == (1000, 0)
    assert credit.capture(held["authorization_id"], 1000).status_code == 201


def test_a_voided_hold_is_released_cannot_be_captured_and_voids_again_the_same(credit):
    held = credit.hold(3000)
    first = credit.void(held["authorization_id"])
    assert first.status_code == 200 and first.get_json()["status"] == "voided"
    assert credit.void(held["authorization_id"]).get_json() == first.get_json()
    body = problem(credit.capture(held["authorization_id"], 100), 409, "authorization_closed")
    assert body["authorization_status"] == "voided"
    assert credit.balances()[1:] == (0, 0)


def test_a_captured_hold_cannot_be_voided_or_captured_again(credit):
    held = credit.hold(3000)
    credit.capture(held["authorization_id"], 2000, no="BILL-1")
    problem(credit.void(held["authorization_id"]), 409, "authorization_closed")
    problem(credit.capture(held["authorization_id"], 100, no="BILL-2"), 409,
            "authorization_closed")
    replay = credit.capture(held["authorization_id"], 2000, no="BILL-1")
    assert replay.status_code == 201 and replay.get_json()["amount_fen"] == 2000
    assert credit.balances()[1:] == (0, 2000)


def test_a_hold_not_captured_in_time_expires_and_cannot_be_captured(credit):
    held = credit.hold(4000)
    credit.advance(hours=24)
    body = problem(credit.capture(held["authorization_id"], 100), 409, "authorization_closed")
    assert body["authorization_status"] == "expired"
    assert credit.mine()["held_fen"] == 0  # the resident's view never counts a dead hold
    assert credit.jobs()["medical_credit.expire_holds"] == {"expired": 1}
    assert credit.jobs()["medical_credit.expire_holds"] == {"expired": 0}
    assert credit.balances()[1:] == (0, 0)
    assert credit.void(held["authorization_id"]).get_json()["status"] == "expired"


def test_an_expired_hold_is_released_by_the_next_authorization_without_the_job(credit):
    line = credit.mine()["line_fen"]
    credit.hold(line)
    credit.advance(hours=25)
    assert credit.hold(line)["status"] == "held"


def test_another_hospitals_authorization_is_not_found(credit):
    held = credit.hold(1000)
    problem(credit.capture(held["authorization_id"], 100, key=credit.other_key), 404,
            "authorization_not_found")
    problem(credit.void(held["authorization_id"], key=credit.other_key), 404,
            "authorization_not_found")
    problem(credit.capture("00000000-0000-0000-0000-000000000000", 100), 404,
            "authorization_not_found")
    assert credit.balances()[1:] == (1000, 0)


def test_partners_of_the_wrong_kind_are_forbidden(credit):
    problem(credit.authorize(100, key=credit.bikes_key), 403, "forbidden")
    bill = credit.bill(500)
    problem(credit.pay(bill["bill_id"], 100, key=credit.hospital_key), 403, "forbidden")
    held = credit.hold(100)
    problem(credit.capture(held["authorization_id"], 100, key=credit.channel_key), 403,
            "forbidden")
    problem(credit.authorize(100, key="pk_not-a-key"), 401, "unauthorized")


def test_payments_reduce_the_debt_partially_never_beyond_it_and_are_idempotent(credit):
    bill = credit.bill(10000)
    first = credit.pay(bill["bill_id"], 4000, no="PAY-1")
    assert first.status_code == 201
    assert (first.get_json()["paid_fen"], first.get_json()["owed_fen"]) == (4000, 6000)
    assert credit.pay(bill["bill_id"], 4000, no="PAY-1").get_json() == first.get_json()
    problem(credit.pay(bill["bill_id"], 5000, no="PAY-1"), 409, "idempotency_conflict")
    body = problem(credit.pay(bill["bill_id"], 6001), 422, "payment_exceeds_debt")
    assert body["owed_fen"] == 6000
    problem(credit.pay(bill["bill_id"], 0), 422, "validation_failed")
    assert credit.balances()[2] == 6000
    last = credit.pay(bill["bill_id"], 6000).get_json()
    assert (last["owed_fen"], last["bill_status"]) == (0, "paid")
    problem(credit.pay(bill["bill_id"], 1), 422, "payment_exceeds_debt")
    problem(credit.pay("00000000-0000-0000-0000-000000000000", 1), 404, "bill_not_found")
    view = credit.mine()
    assert view["owed_fen"] == 0 and view["bills"] == []
    assert [h["kind"] for h in view["history"]] == ["bill"]
    assert len(view["history"][0]["payments"]) == 2


def test_a_bill_paid_on_time_is_credited_as_repaid_by_the_job(credit):
    bill = credit.bill(10000)
    credit.pay(bill["bill_id"], 10000)
    assert credit.jobs()["medical_credit.bills"]["repaid"] == 1
    assert credit.jobs()["medical_credit.bills"]["repaid"] == 0
    [record] = credit.records("medical_credit_repaid")
    assert record.status == "active" and record.amount_fen == 10000
    assert credit.records("medical_credit_overdue") == []
    assert credit.mine()["history"][0]["reported"] is False


def test_reminders_come_once_before_the_due_date(credit):
    credit.bill(10000)
    credit.advance(days=4)
    assert credit.jobs()["medical_credit.bills"]["reminded"] == 0
    credit.advance(days=1, hours=1)
    assert credit.jobs()["medical_credit.bills"]["reminded"] == 1
    assert credit.jobs()["medical_credit.bills"]["reminded"] == 0
    assert len(credit.notifications("medical_credit_reminder")) == 1


def test_an_overdue_bill_suspends_credit_care_until_paid_and_is_reported_after_grace(credit):
    bill = credit.bill(10000)
    credit.advance(days=7, minutes=1)
    entitlement = credit.entitlement()
    assert not entitlement["eligible"]  # even before the job has run
    assert [r["code"] for r in entitlement["reasons"]] == ["overdue_bill"]
    assert credit.jobs()["medical_credit.bills"]["overdue"] == 1
    assert credit.jobs()["medical_credit.bills"] == {"reminded": 0, "overdue": 0, "reported": 0,
                                                     "repaid": 0}
    view = credit.mine()
    assert not view["eligible"] and view["available_fen"] == 0
    assert view["bills"][0]["status"] == "overdue"
    refused = credit.client.post("/api/v1/me/tokens", headers=bearer(credit.resident),
                                 json={"scenario": "medical_credit",
                                       "partner": credit.hospital.client_id})
    problem(refused, 403, "not_eligible")
    assert len(credit.notifications("medical_credit_overdue")) == 1

    credit.advance(days=7)
    assert credit.jobs()["medical_credit.bills"]["reported"] == 1
    assert credit.jobs()["medical_credit.bills"]["reported"] == 0
    [record] = credit.records("medical_credit_overdue")
    assert record.status == "active" and record.amount_fen == 10000
    assert credit.mine()["bills"][0]["reported"] is True

    credit.pay(bill["bill_id"], 4000)
    assert not credit.entitlement()["eligible"]
    credit.pay(bill["bill_id"], 6000)
    [record] = credit.records("medical_credit_overdue")
    assert record.status == "repaired"
    assert credit.entitlement()["eligible"]
    credit.jobs()
    assert credit.records("medical_credit_repaid") == []  # paid late earns no credit
    assert credit.hold(1000)["status"] == "held"


def test_paying_during_the_grace_period_leaves_no_record(credit):
    bill = credit.bill(10000)
    credit.advance(days=8)
    credit.jobs()
    credit.pay(bill["bill_id"], 10000)
    credit.advance(days=30)
    assert credit.jobs()["medical_credit.bills"]["reported"] == 0
    assert credit.records("medical_credit_overdue") == []
    assert credit.entitlement()["eligible"]


def test_the_demo_channel_pays_the_residents_own_bill_through_the_same_path(credit):
    bill = credit.bill(10000)
    url = f"/api/v1/me/medical-credit/bills/{bill['bill_id']}/demo-payment"
    response = credit.client.post(url, headers=bearer(credit.resident), json={"amount_fen": 2500})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["owed_fen"] == 7500
    problem(credit.client.post(url, headers=bearer(credit.resident),
                               json={"amount_fen": 7501}), 422, "payment_exceeds_debt")
    assert credit.mine()["bills"][0]["payments"][0]["channel"] == "demo"
    assert credit.balances()[2] == 7500


def test_the_demo_channel_cannot_pay_someone_elses_bill(credit, idp):
    from tests.support.factories import login

    bill = credit.bill(10000)
    stranger = login(credit.client, idp, 8, "赵六")
    response = credit.client.post(
        f"/api/v1/me/medical-credit/bills/{bill['bill_id']}/demo-payment",
        headers=bearer(stranger), json={"amount_fen": 100})
    problem(response, 404, "bill_not_found")
    assert credit.balances()[2] == 10000


def test_the_demo_channel_does_not_exist_outside_development(config, clock):
    from app import create_app

    production = create_app({**config, "ENV": "production"}, clock=clock)
    paths = {r.rule for r in production.url_map.iter_rules()}
    assert "/api/v1/me/medical-credit" in paths
    assert not any(p.endswith("/demo-payment") for p in paths)
    production.extensions["pengcheng"].engine.dispose()


def test_a_resident_without_credit_history_sees_an_empty_account(credit):
    view = credit.mine()
    assert (view["held_fen"], view["owed_fen"], view["holds"], view["bills"],
            view["history"]) == (0, 0, [], [], [])
    assert view["terms"]["due_days"] == 7


def test_the_line_is_the_residents_when_the_token_was_issued_and_never_in_the_token(credit):
    line = credit.mine()["line_fen"]
    token = credit.token()
    assert str(line) not in token_claims(token)
    problem(credit.authorize(line + 1, token=token), 422, "limit_exceeded")
    assert credit.authorize(line, token=token).get_json()["status"] == "held"
