"""The database itself refuses an overspent line, an overpaid bill and unknown states — not
only the checks in front of it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.runtime import runtime
from tests.support.medical_credit import Credit


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def refused(app, sql: str, **params) -> None:
    with app.app_context(), runtime().uow() as uow:
        with pytest.raises(IntegrityError):
            uow.session.execute(text(sql), params)
            uow.session.flush()


def test_the_database_refuses_holds_and_debts_beyond_the_line(credit, app):
    credit.hold(1000)
    refused(app, "UPDATE credit_accounts SET held_fen = line_fen + 1")
    refused(app, "UPDATE credit_accounts SET owed_fen = line_fen - held_fen + 1")
    refused(app, "UPDATE credit_accounts SET held_fen = -1")
    assert credit.balances()[1:] == (1000, 0)


def test_the_database_refuses_an_overpaid_bill_or_a_paid_status_with_debt_left(credit, app):
    bill = credit.bill(5000)
    refused(app, "UPDATE credit_bills SET paid_fen = amount_fen + 1")
    refused(app, "UPDATE credit_bills SET status = 'paid'")
    refused(app, "UPDATE credit_bills SET status = 'forgiven'")
    assert credit.pay(bill["bill_id"], 5000).status_code == 201


def test_the_database_refuses_unknown_hold_states_and_a_reused_request_number(credit, app):
    held = credit.hold(1000)
    refused(app, "UPDATE credit_holds SET status = 'pending'")
    refused(app, "UPDATE credit_holds SET status = 'voided'")  # closed needs closed_at
    refused(app, """INSERT INTO credit_holds (id, resident_id, partner_id, out_request_no,
                        amount_fen, line_fen, status, created_at, expires_at)
                    SELECT :id, resident_id, partner_id, out_request_no, 1, line_fen, 'held',
                           created_at, expires_at FROM credit_holds""",
            id=uuid.uuid4())
    assert credit.void(held["authorization_id"]).get_json()["status"] == "voided"


def test_the_database_refuses_a_waived_deposit_above_its_cap(credit, app):
    credit.waiver(100)
    refused(app, "UPDATE deposit_waivers SET deposit_fen = cap_fen + 1")
    refused(app, "UPDATE deposit_waiver_slots SET used = -1")
