"""先诊后付 answers and refusals, word for word: an authorization and a capture are one
function call each (`rewards.credit.services`), whose answers describe the rows written;
nothing is written on a refusal."""

from __future__ import annotations

import uuid

import pytest

from core.idempotency import iso, plain
from core.notifications import Notification
from rewards.credit import notices
from rewards.credit.models import CreditBill, CreditHold
from rewards.credit.services import Authorization
from rewards.models import AccessEntry, ConsumedToken
from tests.support.medical_credit import Credit, problem


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def test_the_answers_describe_the_rows_written(credit):
    credit.opened()
    line = credit.mine()["line_fen"]
    held = credit.hold(80000)
    hold = credit.row(CreditHold, uuid.UUID(held["authorization_id"]))
    # the function's answer is a hold as `void` answers it, with `sub`
    assert held == {**plain(Authorization.of(hold)), "sub": held["sub"]}
    assert hold.line_fen == line and hold.status == "held"
    [entry] = [e for e in credit.rows(AccessEntry) if e.action == "credit_hold"
               and e.learned["amount_fen"] == 80000]
    assert entry.learned == {"sub": held["sub"], "amount_fen": 80000}
    assert (entry.outcome, entry.scenario, entry.at) == ("held", "medical_credit",
                                                         hold.created_at)
    assert (entry.actor_kind, entry.actor_id) == ("partner", credit.hospital.client_id)

    bill = credit.capture(held["authorization_id"], 52000).get_json()
    stored = credit.row(CreditBill, uuid.UUID(bill["bill_id"]))
    hold = credit.row(CreditHold, uuid.UUID(held["authorization_id"]))
    assert bill == {
        "bill_id": str(stored.id), "authorization_id": str(hold.id), "out_bill_no":
        stored.out_bill_no, "amount_fen": 52000, "paid_fen": 0, "owed_fen": 52000,
        "status": "open", "created_at": iso(stored.created_at), "due_at": iso(stored.due_at),
        "overdue_at": None, "paid_at": None, "released_fen": 80000 - 52000}
    assert (hold.status, hold.closed_at) == ("captured", stored.created_at)
    assert credit.balances() == (line, 0, 52000)
    expected = notices.bill_posted(credit.hospital.name, stored.id, 52000, stored.due_at)
    [note] = credit.rows(Notification)
    assert (note.kind, note.dedupe_key, note.resident_id, note.created_at) == (
        expected.kind, expected.dedupe_key, stored.resident_id, stored.created_at)
    assert (note.title_zh, note.title_en, note.body_zh, note.body_en, note.data) == (
        *expected.title, *expected.body, expected.data)


def test_a_retry_of_every_idempotent_write_returns_the_first_answer_byte_for_byte(credit):
    credit.opened()
    token = credit.token()
    held = credit.authorize(5000, token=token, no="REG-1")
    again = credit.authorize(5000, token=token, no="REG-1")
    assert held.data == again.data
    bill = credit.capture(held.get_json()["authorization_id"], 4000, no="BILL-1")
    again = credit.capture(held.get_json()["authorization_id"], 4000, no="BILL-1")
    assert bill.data == again.data
    paid = credit.pay(bill.get_json()["bill_id"], 1000, no="PAY-1")
    again = credit.pay(bill.get_json()["bill_id"], 1000, no="PAY-1")
    assert (paid.status_code, again.status_code) == (201, 201)
    assert paid.data == again.data
    waiver_token = credit.token("deposit_waiver_bike", credit.bikes)
    waived = credit.waive(500, token=waiver_token, no="ORDER-1")
    again = credit.waive(500, token=waiver_token, no="ORDER-1")
    assert (waived.status_code, again.status_code) == (201, 201)
    assert waived.data == again.data


def test_the_first_authorization_opens_the_account(credit):
    assert credit.balances() == (0, 0, 0)
    held = credit.hold(1000)
    line = credit.mine()["line_fen"]
    assert held["status"] == "held"
    assert credit.balances() == (line, 1000, 0)
    assert (credit.count(ConsumedToken), credit.count(CreditHold)) == (1, 1)


def test_a_hold_past_its_expiry_is_released_for_the_next_authorization(credit):
    line = credit.mine()["line_fen"]
    stale = credit.hold(line)
    credit.advance(hours=25)
    assert credit.hold(line)["status"] == "held"
    assert credit.row(CreditHold, uuid.UUID(stale["authorization_id"])).status == "expired"
    assert credit.balances()[1:] == (line, 0)


def test_a_hold_that_does_not_fit_says_only_limit_exceeded_and_writes_nothing(credit):
    credit.opened()
    line = credit.mine()["line_fen"]
    credit.hold(line - 1000)
    before = credit.snapshot()
    body = problem(credit.authorize(2000), 422, "limit_exceeded")
    assert {k: v for k, v in body.items() if k != "request_id"} == {
        "type": body["type"], "code": "limit_exceeded", "status": 422,
        "title": "The resident cannot use this much now",
        "detail": "the resident cannot use this much of this benefit now; they can see why in "
                  "Pengcheng Score",
        "detail_zh": "该市民当前不能使用这么多额度，可在鹏城分中查看原因"}
    assert credit.snapshot() == before


def test_a_resident_excluded_after_the_token_was_shown_is_declined_and_nothing_is_written(
        credit):
    credit.bill(10000)
    credit.advance(days=7, minutes=-2)
    token = credit.token()
    credit.advance(minutes=3)  # the bill is now overdue; the token is still valid
    before = credit.snapshot()
    body = problem(credit.authorize(100, token=token), 403, "credit_declined")
    assert (body["detail"], body["detail_zh"]) == (
        "the resident cannot use credit care now; ask them to check their entitlements",
        "该市民暂不能使用先诊后付")
    assert credit.snapshot() == before


def test_capturing_more_than_the_hold_is_refused_and_writes_nothing(credit):
    credit.opened()
    held = credit.hold(1000)
    before = credit.snapshot()
    body = problem(credit.capture(held["authorization_id"], 1001), 422, "amount_exceeds_hold")
    assert (body["detail"], body["detail_zh"], body["hold_fen"]) == (
        "the bill (1001 fen) exceeds the hold (1000 fen)", "账单金额超过预授权金额", 1000)
    assert credit.snapshot() == before


def test_another_hospitals_or_an_unknown_authorization_is_not_found(credit):
    credit.opened()
    held = credit.hold(1000)
    before = credit.snapshot()
    for authorization_id, key in ((held["authorization_id"], credit.other_key),
                                  (str(uuid.uuid4()), credit.hospital_key)):
        body = problem(credit.capture(authorization_id, 100, key=key), 404,
                       "authorization_not_found")
        assert (body["detail"], body["detail_zh"]) == ("no such authorization of yours",
                                                       "没有该预授权")
    assert credit.snapshot() == before


def test_capturing_twice_replays_and_another_bill_finds_the_hold_closed(credit):
    credit.opened()
    held = credit.hold(3000)
    first = credit.capture(held["authorization_id"], 2000, no="BILL-1")
    assert credit.capture(held["authorization_id"], 2000, no="BILL-1").get_json() == \
        first.get_json()
    before = credit.snapshot()
    body = problem(credit.capture(held["authorization_id"], 100, no="BILL-2"), 409,
                   "authorization_closed")
    assert (body["detail"], body["detail_zh"], body["authorization_status"]) == (
        "the authorization is captured", "预授权已结束", "captured")
    body = problem(credit.capture(held["authorization_id"], 1000, no="BILL-1"), 409,
                   "idempotency_conflict")
    assert (body["detail"], body["detail_zh"]) == (
        "medical_credit.capture: key 'BILL-1' was first used with a different body",
        "同一业务单号已用于不同的请求内容")
    assert credit.snapshot() == before


def test_a_hold_past_its_expiry_cannot_be_captured_and_writes_nothing(credit):
    credit.opened()
    held = credit.hold(4000)
    credit.advance(hours=24)
    before = credit.snapshot()
    body = problem(credit.capture(held["authorization_id"], 100), 409, "authorization_closed")
    assert (body["detail"], body["detail_zh"], body["authorization_status"]) == (
        "the authorization expired before capture", "预授权已过期", "expired")
    assert credit.snapshot() == before


def test_a_retry_with_an_expired_token_still_gets_the_stored_answer(credit):
    credit.opened()
    token = credit.token()
    first = credit.authorize(5000, token=token, no="REG-1")
    credit.advance(minutes=6)
    again = credit.authorize(5000, token=token, no="REG-1")
    assert again.status_code == 201 and again.data == first.data
    problem(credit.authorize(5000, token=token, no="REG-2"), 422, "token_expired")
    assert credit.balances()[1] == 5000


def test_a_replayed_token_and_a_reused_request_number_are_refused_and_write_nothing(credit):
    credit.opened()
    token = credit.token()
    credit.authorize(100, token=token, no="REG-1")
    before = credit.snapshot()
    body = problem(credit.authorize(100, token=token, no="REG-2"), 409, "token_replayed")
    assert body["detail"] == "the token has already been used"
    body = problem(credit.authorize(200, token=token, no="REG-1"), 409, "idempotency_conflict")
    assert body["detail"] == ("medical_credit.authorize: key 'REG-1' was first used with a "
                              "different body")
    assert credit.snapshot() == before
