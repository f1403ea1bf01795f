"""What residents' rights (export, erasure) get from 先诊后付 and deposit waivers."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from app.runtime import runtime
from rewards.credit import rights as credit_rights
from rewards.credit.models import CreditAccount
from rewards.waivers import rights as waiver_rights
from tests.support.factories import T0
from tests.support.medical_credit import Credit


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def resident_id(app) -> uuid.UUID:
    with app.app_context(), runtime().uow() as uow:
        return uow.session.scalars(select(CreditAccount.resident_id)).one()


def test_the_export_holds_every_hold_bill_payment_and_waiver_as_plain_json(credit, app):
    open_bill = credit.bill(5000)
    paid = credit.bill(3000)
    credit.pay(paid["bill_id"], 3000, no="PAY-X")
    credit.hold(1000)
    waiver = credit.waiver(100)
    rid = resident_id(app)
    with app.app_context(), runtime().uow() as uow:
        section = credit_rights.export_section(uow.session, rid)
        waivers = waiver_rights.export_section(uow.session, rid)
    json.dumps(section), json.dumps(waivers)  # JSON-ready as it is
    assert section["account"]["owed_fen"] == 5000 and section["account"]["held_fen"] == 1000
    assert {b["bill_id"] for b in section["bills"]} == {open_bill["bill_id"], paid["bill_id"]}
    assert len(section["holds"]) == 3
    assert [p["out_payment_no"] for p in section["payments"]] == ["PAY-X"]
    assert section["bills"][0]["hospital"]["client_id"] == credit.hospital.client_id
    assert [w["waiver_id"] for w in waivers["waivers"]] == [waiver["waiver_id"]]


def test_retention_keeps_what_is_owed_or_open_and_says_until_when_and_why(credit, app):
    open_bill = credit.bill(5000)
    paid = credit.bill(3000)
    credit.pay(paid["bill_id"], 3000)
    completed = credit.waiver(100)
    credit.close(completed["waiver_id"], "complete")
    active = credit.waiver(100)
    rid = resident_id(app)
    with app.app_context(), runtime().uow() as uow:
        kept = credit_rights.retention(uow.session, rid, T0)
        kept_waivers = waiver_rights.retention(uow.session, rid, T0)
    by_what = {k["what"]: k for k in kept}
    assert by_what[f"medical_credit_bill:{open_bill['bill_id']}"]["until"] is None
    assert by_what[f"medical_credit_bill:{paid['bill_id']}"]["until"].startswith("2029-10-31")
    assert all(k["why_zh"] and k["why_en"] for k in kept + kept_waivers)
    assert [k["what"] for k in kept_waivers] == [f"deposit_waiver:{active['waiver_id']}"]


def test_a_resident_with_nothing_here_exports_empty_sections(credit, app):
    with app.app_context(), runtime().uow() as uow:
        nobody = uuid.uuid4()
        assert credit_rights.export_section(uow.session, nobody) == {
            "account": None, "holds": [], "bills": [], "payments": []}
        assert waiver_rights.export_section(uow.session, nobody) == {"waivers": []}
        assert credit_rights.retention(uow.session, nobody, T0) == []
        assert waiver_rights.retention(uow.session, nobody, T0) == []
