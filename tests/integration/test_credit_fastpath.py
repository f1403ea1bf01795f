"""先诊后付 on PostgreSQL: an authorization and a capture are one statement each — a call of
`pc_credit_authorize` / `pc_credit_capture` (migration 0012) — and so are the refusals those
functions make; the cases they hand back take the portable path. (What the answers say, on
both databases: tests/api/test_medical_credit_answers.py.)"""

from __future__ import annotations

import uuid

import pytest

from tests.api.test_medical_credit_support import Credit, problem
from tests.statements import statements

pytestmark = pytest.mark.services


@pytest.fixture
def credit(pg_url, app, client, idp) -> Credit:
    return Credit(app, client, idp)


def test_an_authorization_and_a_capture_are_one_statement_each(credit, app):
    credit.opened()
    token = credit.token()
    with statements(app) as sent:
        response = credit.authorize(80000, token=token, no="REG-FAST")
    assert response.status_code == 201, response.get_json()
    assert len(sent) == 1 and "pc_credit_authorize" in sent[0], sent
    held = response.get_json()

    with statements(app) as sent:
        response = credit.capture(held["authorization_id"], 52000, no="BILL-FAST")
    assert response.status_code == 201, response.get_json()
    assert len(sent) == 1 and "pc_credit_capture" in sent[0], sent

    with statements(app) as sent:  # retries: the stored answers
        assert credit.authorize(80000, token=token, no="REG-FAST").get_json() == held
        assert credit.capture(held["authorization_id"], 52000,
                              no="BILL-FAST").get_json() == response.get_json()
    assert len(sent) == 2


def test_the_first_authorization_falls_back_to_the_portable_path_to_open_the_account(
        credit, app):
    token = credit.token()
    with statements(app) as sent:
        assert credit.authorize(1000, token=token).status_code == 201
    tried = next(i for i, s in enumerate(sent) if "pc_credit_authorize" in s)
    assert any(s.startswith("INSERT INTO credit_accounts") for s in sent[tried + 1:]), sent


def test_a_hold_that_does_not_fit_falls_back_to_the_portable_path(credit, app):
    credit.opened()
    line = credit.mine()["line_fen"]
    token = credit.token()
    with statements(app) as sent:
        problem(credit.authorize(line + 1, token=token), 422, "insufficient_credit")
    assert "pc_credit_authorize" in sent[0]
    assert any(s.startswith("INSERT INTO partner_requests") for s in sent[1:]), sent


def test_refusals_in_the_functions_are_one_statement(credit, app):
    credit.opened()
    token = credit.token()
    held = credit.authorize(1000, token=token, no="REG-1").get_json()
    with statements(app) as sent:
        problem(credit.authorize(100, token=token, no="REG-2"), 409, "token_replayed")
        problem(credit.authorize(200, token=token, no="REG-1"), 409, "idempotency_conflict")
        problem(credit.capture(held["authorization_id"], 1001), 422, "amount_exceeds_hold")
        problem(credit.capture(str(uuid.uuid4()), 100), 404, "authorization_not_found")
    assert len(sent) == 4, sent


def test_an_excluded_resident_is_declined_in_one_statement(credit, app):
    credit.bill(10000)
    credit.advance(days=7, minutes=-2)
    token = credit.token()
    credit.advance(minutes=3)  # the bill is now overdue; the token is still valid
    with statements(app) as sent:
        problem(credit.authorize(100, token=token), 403, "credit_declined")
    assert len(sent) == 1, sent


def test_a_scenario_that_stopped_disclosing_the_line_takes_the_portable_path(credit, app):
    from tests.factories import cli

    credit.opened()
    changed = cli(credit.app, "scenarios", "set", "medical_credit", "--json",
                  '{"discloses": ["eligible"]}')
    assert changed.exit_code == 0, changed.output
    token = credit.token()
    with statements(app) as sent:
        assert credit.authorize(100, token=token).status_code == 201
    assert "pc_credit_authorize" in sent[0] and len(sent) > 1
