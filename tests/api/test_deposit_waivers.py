"""Deposit waivers (免押) through the HTTP API: waive, return, default, settle."""

from __future__ import annotations

import pytest

from tests.support.factories import new_partner
from tests.support.medical_credit import Credit, problem


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def limits(credit: Credit) -> dict:
    return credit.entitlement("deposit_waiver_bike")["limits"]


def test_a_partner_waives_a_deposit_and_the_resident_sees_it(credit):
    waiver = credit.waiver(29900)
    assert waiver["status"] == "active" and waiver["deposit_fen"] == 29900
    assert waiver["scenario"] == "deposit_waiver_bike" and waiver["sub"]
    assert not {"score", "tier", "cap_fen", "max_active"} & set(waiver)
    [mine] = credit.my_waivers()
    assert mine["waiver_id"] == waiver["waiver_id"]
    assert mine["partner"]["client_id"] == credit.bikes.client_id
    assert mine["item"] == "单车 #SZ-1024" and "sub" not in mine


def test_a_deposit_above_the_cap_is_refused_and_the_token_stays_usable(credit):
    cap = limits(credit)["deposit_cap_fen"]
    token = credit.token("deposit_waiver_bike", credit.bikes)
    body = problem(credit.waive(cap + 1, token=token), 422, "limit_exceeded")
    assert "cap_fen" not in body and str(cap) not in body["detail"]
    assert credit.my_waivers() == []
    assert credit.waive(cap, token=token).status_code == 201


def test_no_more_than_max_active_waivers_are_open_at_once(credit):
    max_active = limits(credit)["max_active"]
    opened = [credit.waiver(100) for _ in range(max_active)]
    problem(credit.waive(100), 422, "limit_exceeded")
    assert len(credit.my_waivers()) == max_active
    assert credit.close(opened[0]["waiver_id"], "complete").status_code == 200
    assert credit.waive(100).status_code == 201


def test_completing_twice_answers_the_same_and_an_on_time_return_is_credited(credit):
    waiver = credit.waiver()
    first = credit.close(waiver["waiver_id"], "complete")
    assert first.status_code == 200 and first.get_json()["status"] == "completed"
    assert credit.close(waiver["waiver_id"], "complete").get_json() == first.get_json()
    assert credit.jobs()["deposit_waivers.records"] == {"reported": 0, "returned": 1}
    assert credit.jobs()["deposit_waivers.records"] == {"reported": 0, "returned": 0}
    [record] = credit.records("deposit_returned")
    assert record.status == "active"
    problem(credit.close(waiver["waiver_id"], "default"), 409, "waiver_closed")


def test_a_default_before_the_due_date_is_refused(credit):
    waiver = credit.waiver()
    body = problem(credit.close(waiver["waiver_id"], "default"), 409, "waiver_not_due")
    assert body["due_at"] == "2026-11-02T08:00:00Z"
    assert credit.my_waivers()[0]["status"] == "active"


def test_a_default_becomes_a_record_after_grace_and_settling_repairs_it(credit):
    waiver = credit.waiver()
    credit.advance(days=1)
    defaulted = credit.close(waiver["waiver_id"], "default")
    assert defaulted.status_code == 200 and defaulted.get_json()["status"] == "defaulted"
    assert credit.close(waiver["waiver_id"], "default").get_json() == defaulted.get_json()
    assert len(credit.notifications("deposit_waiver_defaulted")) == 1
    credit.advance(days=6)
    assert credit.jobs()["deposit_waivers.records"]["reported"] == 0
    credit.advance(days=1)
    assert credit.jobs()["deposit_waivers.records"]["reported"] == 1
    assert credit.jobs()["deposit_waivers.records"]["reported"] == 0
    [record] = credit.records("deposit_defaulted")
    assert record.status == "active" and record.amount_fen == 29900
    assert credit.my_waivers()[0]["reported"] is True

    settled = credit.close(waiver["waiver_id"], "complete").get_json()
    assert settled["status"] == "settled"
    [record] = credit.records("deposit_defaulted")
    assert record.status == "repaired"
    credit.jobs()
    assert credit.records("deposit_returned") == []  # returned late earns no credit


def test_a_default_keeps_its_slot_until_settled(credit):
    max_active = limits(credit)["max_active"]
    waivers = [credit.waiver(100) for _ in range(max_active)]
    credit.advance(days=1)
    credit.close(waivers[0]["waiver_id"], "default")
    problem(credit.waive(100, due_at="2026-11-03T08:00:00Z"), 422, "limit_exceeded")
    credit.close(waivers[0]["waiver_id"], "complete")
    assert credit.waive(100, due_at="2026-11-03T08:00:00Z").status_code == 201


def test_retrying_a_waiver_returns_the_first_answer(credit):
    token = credit.token("deposit_waiver_bike", credit.bikes)
    first = credit.waive(500, token=token, no="ORDER-1")
    again = credit.waive(500, token=token, no="ORDER-1")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    problem(credit.waive(600, token=token, no="ORDER-1"), 409, "idempotency_conflict")
    assert len(credit.my_waivers()) == 1


def test_bad_deposits_and_due_dates_are_refused(credit):
    for deposit in (0, -1, 1.5):
        problem(credit.waive(deposit), 422, "validation_failed")
    problem(credit.waive(100, due_at="2026-11-02T08:00:00"), 422, "validation_failed")
    problem(credit.waive(100, due_at="2026-10-31T08:00:00Z"), 422, "invalid_deposit")
    problem(credit.waive(100, due_at="2036-10-31T08:00:00Z"), 422, "invalid_deposit")
    problem(credit.waive(100, item=""), 422, "validation_failed")
    assert credit.my_waivers() == []


def test_the_wrong_partner_kind_and_other_partners_waivers_are_refused(credit, app):
    problem(credit.waive(100, key=credit.hospital_key), 403, "forbidden")
    waiver = credit.waiver()
    _other, other_key = new_partner(app, "deposit_partner", ["deposit_waiver_bike"])
    problem(credit.close(waiver["waiver_id"], "complete", key=other_key), 404,
            "waiver_not_found")
    problem(credit.close(waiver["waiver_id"], "default", key=other_key), 404,
            "waiver_not_found")
    assert credit.my_waivers()[0]["status"] == "active"


def test_a_token_for_another_partner_cannot_waive_a_deposit(credit):
    token = credit.token()  # a medical_credit token addressed to the hospital
    problem(credit.waive(100, token=token), 422, "token_wrong_audience")
    assert credit.my_waivers() == []


def test_a_replayed_token_is_refused(credit):
    token = credit.token("deposit_waiver_bike", credit.bikes)
    credit.waiver(100, token=token)
    problem(credit.waive(100, token=token), 409, "token_replayed")


def test_a_refusal_right_after_a_score_recompute_leaves_nothing_behind(credit):
    from tests.support.tokens import push, rec

    cap = limits(credit)["deposit_cap_fen"]
    token = credit.token("deposit_waiver_bike", credit.bikes)
    push(credit.client, credit.source_key,  # a new record: the next read recomputes the score
         [rec(7, "late-volunteering", "volunteer", "service_hours", quantity=2)])
    problem(credit.waive(cap + 1, token=token, no="ORDER-R"), 422, "limit_exceeded")
    again = credit.waive(cap, token=token, no="ORDER-R")  # same key, corrected body
    assert again.status_code == 201, again.get_json()
