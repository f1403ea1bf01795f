"""先诊后付 and deposit waivers under real parallel connections on PostgreSQL.

Each thread has its own Flask test client, so its own requests, units of work and database
connections; a barrier releases them together.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core import jobs
from core.records import Record
from rewards.credit.models import CreditAccount, CreditBill, CreditHold, CreditPayment
from rewards.models import ConsumedToken
from rewards.waivers.models import DepositWaiver
from tests.support.concurrency import post, together
from tests.support.medical_credit import BASE, Credit
from tests.support.statements import statements

pytestmark = pytest.mark.services

RACERS = 50  # the widest race below


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    """These races are about the database's guarantees: every request in flight at once, each
    with a connection of its own. The per-resident cap would turn most of them away with 503
    resident_busy before they reach the database, and a pool smaller than the race would keep
    some waiting for a connection, which on a busy machine ends in 503 database_busy after
    `DB_POOL_TIMEOUT_S`. Both are the service's bounded waits, tested in test_bounded_waits
    and the held-lock fault test; here they would only hide the race."""
    return {**config, "RESIDENT_CONCURRENCY": 100, "DB_POOL_SIZE": RACERS}


@pytest.fixture
def credit(pg_url, app, client, idp) -> Credit:
    return Credit(app, client, idp)


def account(app: Any) -> CreditAccount:
    with app.app_context(), runtime().uow() as uow:
        return uow.session.scalars(select(CreditAccount)).one()


def count(app: Any, model: Any, *where: Any) -> int:
    with app.app_context(), runtime().uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)))


def test_counters_authorizing_at_once_never_exceed_the_line(credit, app):
    line = credit.mine()["line_fen"]
    share = line // 3
    tokens = [credit.token() for _ in range(4)] + [credit.token(partner=credit.other)
                                                   for _ in range(4)]
    keys = [credit.hospital_key] * 4 + [credit.other_key] * 4
    responses = together(app, [
        post(f"{BASE}/authorizations", key, {"token": token, "out_request_no": uuid.uuid4().hex,
                                              "amount_fen": share})
        for token, key in zip(tokens, keys, strict=True)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [422] * 5, [r.get_json() for r in responses]
    assert {r.get_json()["code"] for r in responses if r.status_code == 422} == {
        "limit_exceeded"}
    acct = account(app)
    assert acct.held_fen == 3 * share <= acct.line_fen == line
    assert count(app, CreditHold) == 3
    assert count(app, ConsumedToken) == 3  # a refused authorization does not burn its token


def test_counters_authorizing_at_once_on_an_open_account_never_exceed_the_line(credit, app):
    """Each authorization is one call of `pc_credit_authorize`, the refusals included."""
    line = credit.mine()["line_fen"]
    first = credit.hold(line)  # opens the account; the line is taken until voided
    assert credit.void(first["authorization_id"]).status_code == 200
    share = line // 3
    tokens = [credit.token() for _ in range(4)] + [credit.token(partner=credit.other)
                                                   for _ in range(4)]
    keys = [credit.hospital_key] * 4 + [credit.other_key] * 4
    with statements(app) as sent:
        responses = together(app, [
            post(f"{BASE}/authorizations", key, {
                "token": token, "out_request_no": uuid.uuid4().hex, "amount_fen": share})
            for token, key in zip(tokens, keys, strict=True)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [422] * 5, [r.get_json() for r in responses]
    assert sum("pc_credit_authorize" in s for s in sent) == 8
    assert all("pc_credit_authorize" in s or s.startswith("SELECT partners") for s in sent)
    assert all("available_fen" not in r.get_json() for r in responses)  # never told
    acct = account(app)
    assert acct.held_fen == 3 * share <= acct.line_fen == line
    assert count(app, CreditHold, CreditHold.status == "held") == 3
    assert count(app, ConsumedToken) == 4


def test_fifty_concurrent_retries_of_one_authorization_on_an_open_account_hold_once(credit, app):
    first = credit.hold(100)
    assert credit.void(first["authorization_id"]).status_code == 200
    body = {"token": credit.token(), "out_request_no": "REG-50", "amount_fen": 12345}
    with statements(app) as sent:
        responses = together(app, [post(f"{BASE}/authorizations", credit.hospital_key,
                                        body)] * RACERS)
    assert {r.status_code for r in responses} == {201}
    answers = [r.get_json() for r in responses]
    assert all(a == answers[0] for a in answers)
    assert sum("pc_credit_authorize" in s for s in sent) == RACERS
    assert all("pc_credit_authorize" in s or s.startswith("SELECT partners") for s in sent)
    assert count(app, CreditHold, CreditHold.status == "held") == 1
    assert account(app).held_fen == 12345


def test_fifty_concurrent_retries_of_one_authorization_hold_once_and_agree(credit, app):
    body = {"token": credit.token(), "out_request_no": "REG-50", "amount_fen": 12345}
    responses = together(app, [post(f"{BASE}/authorizations", credit.hospital_key, body)]
                         * RACERS)
    assert {r.status_code for r in responses} == {201}
    answers = [r.get_json() for r in responses]
    assert all(a == answers[0] for a in answers)
    assert count(app, CreditHold) == 1
    assert account(app).held_fen == 12345


def test_capture_and_void_racing_on_one_hold_settle_it_exactly_once(credit, app):
    held = credit.hold(9000)
    url = f"{BASE}/authorizations/{held['authorization_id']}"
    calls = []
    for i in range(10):
        if i % 2:
            calls.append(post(f"{url}/void", credit.hospital_key, {}))
        else:
            calls.append(post(f"{url}/capture", credit.hospital_key,
                              {"amount_fen": 7000, "out_bill_no": f"B-{i}"}))
    responses = together(app, calls)
    captured = [r for r in responses if r.status_code == 201]
    acct = account(app)
    if captured:
        assert len(captured) == 1 and count(app, CreditBill) == 1
        assert (acct.held_fen, acct.owed_fen) == (0, 7000)
    else:
        assert count(app, CreditBill) == 0 and (acct.held_fen, acct.owed_fen) == (0, 0)
    assert all(r.status_code in (200, 201, 409) for r in responses)


def test_concurrent_payments_never_pay_more_than_is_owed(credit, app):
    bill = credit.bill(10000)
    url = f"{BASE}/bills/{bill['bill_id']}/payments"
    responses = together(app, [post(url, credit.channel_key, {"out_payment_no": f"P-{i}",
                                                               "amount_fen": 3000})
                               for i in range(8)])
    assert sorted(r.status_code for r in responses) == [201] * 3 + [422] * 5
    assert count(app, CreditPayment) == 3
    with app.app_context(), runtime().uow() as uow:
        stored = uow.session.get(CreditBill, uuid.UUID(bill["bill_id"]))
        assert (stored.paid_fen, stored.status) == (9000, "open")
    assert account(app).owed_fen == 1000


def test_concurrent_waivers_never_exceed_max_active(credit, app):
    max_active = credit.entitlement("deposit_waiver_bike")["limits"]["max_active"]
    tokens = [credit.token("deposit_waiver_bike", credit.bikes) for _ in range(max_active + 4)]
    responses = together(app, [
        post("/partner/v1/deposit-waivers", credit.bikes_key, {
            "token": token, "out_order_no": uuid.uuid4().hex, "deposit_fen": 100,
            "due_at": "2026-11-02T08:00:00Z", "item": "单车"}) for token in tokens])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * max_active + [422] * 4
    assert count(app, DepositWaiver, DepositWaiver.status == "active") == max_active


def run_jobs_twice_at_once(app: Any) -> list[dict]:
    def run(_client: Any) -> dict:
        with app.app_context():
            ctx = jobs.JobContext(uow=runtime().uow, now=runtime().clock.now(),
                                  settings=app.config)
            return jobs.run(runtime().engine, ctx, ["medical_credit.expire_holds",
                                                    "medical_credit.bills"])
    return together(app, [run, run])


def test_jobs_run_twice_at_once_do_their_work_once(credit, app):
    for _ in range(3):
        credit.hold(1000)
    bills = [credit.bill(2000) for _ in range(2)]
    credit.advance(days=15)
    results = run_jobs_twice_at_once(app)
    expired = sum(r["medical_credit.expire_holds"].get("expired", 0) for r in results)
    assert expired == 3
    assert count(app, CreditHold, CreditHold.status == "expired") == 3
    assert count(app, Record, Record.type == "medical_credit_overdue") == 2
    acct = account(app)
    assert (acct.held_fen, acct.owed_fen) == (0, 4000)
    again = run_jobs_twice_at_once(app)
    assert all(r["medical_credit.expire_holds"].get("expired", 0) == 0 for r in again)
    assert count(app, Record, Record.type == "medical_credit_overdue") == len(bills)
