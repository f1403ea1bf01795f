"""先诊后付's one implementation of authorization and capture: a call of `pc_credit_authorize`
/ `pc_credit_capture` (rewards/credit/sql/credit.sql) handles every case itself — the resident's
first account, holds past their expiry, counters racing for one line, a token that can no longer be
used, a scenario switched off — in one statement, and a refusal writes nothing. (What the
answers say word for word: tests/api/test_medical_credit_answers.py.)"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.runtime import runtime
from core.idempotency import PartnerRequest
from rewards.credit.models import CreditAccount, CreditHold
from rewards.models import ConsumedToken
from tests.support.concurrency import post, together
from tests.support.factories import cli
from tests.support.medical_credit import BASE, Credit, problem
from tests.support.statements import statements

pytestmark = pytest.mark.services


@pytest.fixture
def credit(pg_url, app, client, idp) -> Credit:
    return Credit(app, client, idp)


def calls(sent: list[str]) -> list[str]:
    """What a request sent besides reading its partner and the signing keys (the first
    request of a process reads them; later ones find them cached)."""
    return [s for s in sent if not s.startswith(("SELECT partners", "SELECT signing_keys"))]


def one_call(sent: list[str], function: str) -> None:
    assert len(calls(sent)) == 1 and function in calls(sent)[0], sent


def execute(app, sql: str, **params) -> None:
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(text(sql), params)
        uow.commit()


def test_an_authorization_and_a_capture_are_one_statement_each_and_so_are_their_retries(
        credit, app):
    credit.opened()
    token = credit.token()
    with statements(app) as sent:
        response = credit.authorize(80000, token=token, no="REG-ONE")
    assert response.status_code == 201, response.get_json()
    one_call(sent, "pc_credit_authorize")
    held = response.get_json()

    with statements(app) as sent:
        response = credit.capture(held["authorization_id"], 52000, no="BILL-ONE")
    assert response.status_code == 201, response.get_json()
    one_call(sent, "pc_credit_capture")

    with statements(app) as sent:  # retries: the stored answers
        assert credit.authorize(80000, token=token, no="REG-ONE").get_json() == held
        assert credit.capture(held["authorization_id"], 52000,
                              no="BILL-ONE").get_json() == response.get_json()
    assert len(calls(sent)) == 2, sent


def test_the_residents_first_authorization_opens_the_account_in_the_same_statement(
        credit, app):
    line = credit.mine()["line_fen"]
    assert credit.count(CreditAccount) == 0
    token = credit.token()
    with statements(app) as sent:
        held = credit.authorize(1000, token=token).get_json()
    one_call(sent, "pc_credit_authorize")
    assert held["status"] == "held"
    assert credit.balances() == (line, 1000, 0)


def test_a_first_authorization_that_does_not_fit_opens_no_account_and_keeps_the_token(
        credit, app):
    line = credit.mine()["line_fen"]
    token = credit.token()
    before = credit.snapshot()
    with statements(app) as sent:
        problem(credit.authorize(line + 1, token=token), 422, "limit_exceeded")
    one_call(sent, "pc_credit_authorize")
    assert credit.snapshot() == before and credit.count(CreditAccount) == 0
    assert credit.authorize(line, token=token).get_json()["status"] == "held"


def test_a_hold_past_its_expiry_but_not_yet_released_is_released_by_the_authorization(
        credit, app):
    line = credit.mine()["line_fen"]
    stale = credit.hold(line)
    credit.advance(hours=25)  # the expiry job has not run
    assert credit.row(CreditHold, uuid.UUID(stale["authorization_id"])).status == "held"
    token = credit.token()
    with statements(app) as sent:
        held = credit.authorize(line, token=token).get_json()
    one_call(sent, "pc_credit_authorize")
    assert held["status"] == "held"
    released = credit.row(CreditHold, uuid.UUID(stale["authorization_id"]))
    fresh = credit.row(CreditHold, uuid.UUID(held["authorization_id"]))
    assert (released.status, released.closed_at) == ("expired", fresh.created_at)
    assert credit.balances() == (line, line, 0)


def test_a_refused_authorization_does_not_release_the_expired_hold_either(credit, app):
    line = credit.mine()["line_fen"]
    stale = credit.hold(line)
    credit.advance(hours=25)
    before = credit.snapshot()
    problem(credit.authorize(line + 1), 422, "limit_exceeded")
    assert credit.snapshot() == before
    assert credit.row(CreditHold, uuid.UUID(stale["authorization_id"])).status == "held"


def test_two_counters_authorizing_at_once_against_an_expired_hold_never_exceed_the_line(
        credit, app):
    line = credit.mine()["line_fen"]
    credit.hold(line)
    credit.advance(hours=25)  # that hold still counts until someone releases it
    share = line * 2 // 3
    responses = together(app, [
        post(f"{BASE}/authorizations", key, {"token": token, "out_request_no": no,
                                              "amount_fen": share})
        for token, key, no in ((credit.token(), credit.hospital_key, "A"),
                               (credit.token(partner=credit.other), credit.other_key, "B"))])
    assert sorted(r.status_code for r in responses) == [201, 422], [
        r.get_json() for r in responses]
    refused = next(r.get_json() for r in responses if r.status_code == 422)
    assert refused["code"] == "limit_exceeded" and "available_fen" not in refused
    assert credit.balances() == (line, share, 0)
    assert credit.count(ConsumedToken) == 2  # the stale hold's and the winner's


def test_two_counters_opening_the_account_at_once_both_hold_when_both_fit(credit, app):
    line = credit.mine()["line_fen"]
    share = line // 3
    responses = together(app, [
        post(f"{BASE}/authorizations", key, {"token": token, "out_request_no": uuid.uuid4().hex,
                                              "amount_fen": share})
        for token, key in ((credit.token(), credit.hospital_key),
                           (credit.token(partner=credit.other), credit.other_key))])
    assert [r.status_code for r in responses] == [201, 201], [r.get_json() for r in responses]
    assert credit.balances() == (line, 2 * share, 0) and credit.count(CreditAccount) == 1


def test_capturing_above_the_hold_is_refused_in_one_statement_and_the_hold_stays_open(
        credit, app):
    held = credit.hold(1000)
    before = credit.snapshot()
    with statements(app) as sent:
        body = problem(credit.capture(held["authorization_id"], 1001, no="BILL-1"), 422,
                       "amount_exceeds_hold")
    one_call(sent, "pc_credit_capture")
    assert body["hold_fen"] == 1000 and credit.snapshot() == before
    bill = credit.capture(held["authorization_id"], 1000, no="BILL-1")  # corrected: allowed
    assert bill.status_code == 201 and bill.get_json()["released_fen"] == 0
    assert credit.balances()[1:] == (0, 1000)


def test_a_capture_whose_account_disagrees_with_its_hold_fails_and_writes_nothing(
        credit, app):
    held = credit.hold(1000)
    execute(app, "UPDATE credit_accounts SET held_fen = 999")
    before = credit.snapshot()
    problem(credit.capture(held["authorization_id"], 500), 500, "internal_error")
    assert credit.snapshot() == before
    assert credit.row(CreditHold, uuid.UUID(held["authorization_id"])).status == "held"


def test_a_retry_after_the_token_expired_gets_the_stored_answer_in_one_statement(credit, app):
    credit.opened()
    token = credit.token()
    first = credit.authorize(5000, token=token, no="REG-1")
    assert first.status_code == 201, first.get_json()
    credit.advance(minutes=6)  # the token has expired: `admit` refuses it
    before = credit.snapshot()
    with statements(app) as sent:
        again = credit.authorize(5000, token=token, no="REG-1")
    assert again.status_code == 201 and again.data == first.data
    one_call(sent, "pc_credit_authorize")
    # Without a stored answer the token's own refusal is raised, and the claim is undone.
    with statements(app) as sent:
        problem(credit.authorize(5000, token=token, no="REG-2"), 422, "token_expired")
    one_call(sent, "pc_credit_authorize")
    assert credit.snapshot() == before


def test_a_token_that_cannot_be_read_is_refused_and_a_reused_key_still_conflicts(credit):
    credit.opened()
    credit.authorize(5000, no="REG-1")
    before = credit.snapshot()
    problem(credit.authorize(5000, token="not-a-token", no="REG-2"), 422, "token_malformed")
    problem(credit.authorize(5000, token="not-a-token", no="REG-1"), 409,
            "idempotency_conflict")
    assert credit.snapshot() == before


def test_the_same_key_with_a_different_body_is_a_conflict_whatever_the_token(credit, app):
    credit.opened()
    token = credit.token()
    first = credit.authorize(5000, token=token, no="REG-1").get_json()
    before = credit.snapshot()
    fresh = credit.token()
    body = problem(credit.authorize(5001, token=fresh, no="REG-1"), 409,
                   "idempotency_conflict")
    assert body["detail"] == ("medical_credit.authorize: key 'REG-1' was first used with a "
                              "different body")
    credit.advance(minutes=6)
    problem(credit.authorize(5001, token=token, no="REG-1"), 409, "idempotency_conflict")
    assert credit.snapshot() == before
    assert credit.count(PartnerRequest) == before[-1]
    assert credit.row(CreditHold, uuid.UUID(first["authorization_id"])).amount_fen == 5000


def test_a_scenario_switched_off_by_the_operator_refuses_and_keeps_the_token(credit, app):
    credit.opened()
    first_token, token = credit.token(), credit.token()
    done = credit.authorize(1000, token=first_token, no="REG-1")
    switched = cli(app, "scenarios", "set", "medical_credit", "--inactive")
    assert switched.exit_code == 0, switched.output
    before = credit.snapshot()
    with statements(app) as sent:
        body = problem(credit.authorize(2000, token=token, no="REG-2"), 404, "unknown_scenario")
    one_call(sent, "pc_credit_authorize")
    assert (body["detail"], body["detail_zh"]) == ("no active scenario 'medical_credit'",
                                                   "没有该场景")
    # As before the one implementation: the scenario is checked before a retry's answer.
    problem(credit.authorize(1000, token=first_token, no="REG-1"), 404, "unknown_scenario")
    assert credit.snapshot() == before
    assert cli(app, "scenarios", "set", "medical_credit", "--active").exit_code == 0
    assert credit.authorize(1000, token=first_token, no="REG-1").data == done.data
    assert credit.authorize(2000, token=token, no="REG-2").status_code == 201


def test_the_line_kept_with_the_token_is_held_against_in_one_write(credit, app):
    line = credit.mine()["line_fen"]
    token = credit.token()
    with statements(app) as sent:
        held = credit.authorize(line, token=token)
    assert held.status_code == 201, held.get_json()
    assert sum("pc_credit_authorize" in s for s in sent) == 1
    assert credit.row(CreditHold, uuid.UUID(held.get_json()["authorization_id"])).line_fen == line


def test_the_expiry_job_and_the_authorization_release_holds_the_same_way(credit, app):
    line = credit.mine()["line_fen"]
    for amount in (1000, 2000):
        credit.hold(amount)
    credit.advance(hours=25)
    result = credit.jobs()
    assert result["medical_credit.expire_holds"]["expired"] == 2
    holds = credit.rows(CreditHold)
    assert {h.status for h in holds} == {"expired"}
    assert {h.closed_at for h in holds} == {holds[0].created_at + timedelta(hours=25)}
    assert credit.balances() == (line, 0, 0)
