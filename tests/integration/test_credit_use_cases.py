"""先诊后付's Python use cases called directly on the real database (no HTTP client): a
payment is an idempotent write (`core.idempotency.idempotent`) whose refusal leaves nothing
behind, and `void` answers the hold's state."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core.errors import IdempotencyConflict
from core.idempotency import PartnerRequest, iso
from core.identity import Partner, Person, create_partner, create_resident
from rewards.credit import services as credit
from rewards.credit.errors import AuthorizationClosed, BillNotFound, PaymentExceedsDebt
from rewards.credit.models import CreditAccount, CreditBill, CreditHold, CreditPayment
from tests.support.factories import T0, id_number


def _partner(uow: Any, kind: str) -> Partner:
    partner, _key = create_partner(uow.session, name=f"{kind} 测试", kind=kind,
                                   scenarios=["medical_credit"], now=T0)
    return partner


def _arranged(app: Any, *, bill_fen: int = 10000) -> tuple[Partner, Partner, uuid.UUID, uuid.UUID]:
    """A resident with a captured hold: (hospital, channel, open hold id, bill id)."""
    with app.app_context(), runtime().uow() as uow:
        session = uow.session
        resident = create_resident(session, runtime().keyring, Person("测试", id_number(41), None),
                                   now=T0)
        hospital, channel = _partner(uow, "hospital"), _partner(uow, "payment_channel")
        session.add(CreditAccount(resident_id=resident.id, line_fen=100000, held_fen=500,
                                  owed_fen=bill_fen, created_at=T0, updated_at=T0))
        captured, held = uuid.uuid4(), uuid.uuid4()
        for hold_id, status, amount in ((captured, "captured", bill_fen), (held, "held", 500)):
            session.add(CreditHold(
                id=hold_id, resident_id=resident.id, partner_id=hospital.id,
                out_request_no=hold_id.hex, amount_fen=amount, line_fen=100000, status=status,
                created_at=T0, expires_at=T0 + timedelta(hours=2),
                closed_at=T0 if status == "captured" else None))
        session.flush()
        bill_id = uuid.uuid4()
        session.add(CreditBill(
            id=bill_id, hold_id=captured, resident_id=resident.id, partner_id=hospital.id,
            out_bill_no="BILL-1", amount_fen=bill_fen, paid_fen=0, status="open", created_at=T0,
            due_at=T0 + timedelta(days=30), reminded_at=None, overdue_at=None, paid_at=None,
            record_id=None))
        uow.commit()
        return hospital, channel, held, bill_id


def _pay(app: Any, channel: Partner, bill_id: uuid.UUID, amount: int, no: str) -> dict:
    with app.app_context():
        return credit.pay(runtime().uow, bill_id, partner=channel, amount_fen=amount,
                          out_payment_no=no, now=T0 + timedelta(days=1))


def _count(app: Any, model: Any) -> int:
    with app.app_context(), runtime().uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)))


def test_a_payment_answers_once_and_its_retry_gets_the_stored_answer(app):
    _hospital, channel, _held, bill_id = _arranged(app)
    first = _pay(app, channel, bill_id, 4000, "PAY-1")
    assert first["bill_id"] == str(bill_id) and first["out_payment_no"] == "PAY-1"
    assert (first["paid_fen"], first["owed_fen"], first["bill_status"]) == (4000, 6000, "open")
    assert first["created_at"] == iso(T0 + timedelta(days=1))
    assert _pay(app, channel, bill_id, 4000, "PAY-1") == first
    assert _count(app, CreditPayment) == 1
    with pytest.raises(IdempotencyConflict):
        _pay(app, channel, bill_id, 5000, "PAY-1")


def test_a_refused_payment_leaves_no_claim_and_a_corrected_retry_is_allowed(app):
    _hospital, channel, _held, bill_id = _arranged(app)
    with pytest.raises(PaymentExceedsDebt):
        _pay(app, channel, bill_id, 10001, "PAY-1")
    with pytest.raises(BillNotFound):
        _pay(app, channel, uuid.uuid4(), 1, "PAY-2")
    assert (_count(app, PartnerRequest), _count(app, CreditPayment)) == (0, 0)
    assert _pay(app, channel, bill_id, 10000, "PAY-1")["bill_status"] == "paid"


def test_void_releases_the_hold_and_answers_its_state_again(app):
    hospital, _channel, held, _bill_id = _arranged(app)
    later = T0 + timedelta(minutes=5)
    with app.app_context(), runtime().uow() as uow:
        first = credit.void(uow, held, partner=hospital, now=later)
    assert first == credit.Authorization(held, held.hex, 500, "voided", T0,
                                         T0 + timedelta(hours=2), later)
    with app.app_context(), runtime().uow() as uow:
        assert credit.void(uow, held, partner=hospital, now=later) == first
        assert uow.session.get(CreditAccount, uow.session.scalar(
            select(CreditHold.resident_id).where(CreditHold.id == held))).held_fen == 0


def test_a_captured_hold_cannot_be_voided(app):
    hospital, _channel, _held, bill_id = _arranged(app)
    with app.app_context(), runtime().uow() as uow:
        captured = uow.session.get(CreditBill, bill_id).hold_id
    with app.app_context(), runtime().uow() as uow, pytest.raises(AuthorizationClosed):
        credit.void(uow, captured, partner=hospital, now=T0)
