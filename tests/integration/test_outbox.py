"""The transactional outbox (events/sql/outbox.sql): every state change a partner must hear
about writes its event, its deliveries and their queue jobs in the change's own transaction,
by whatever path (ORM writes, a use case's SQL function); a change rolled back leaves none;
an event's data never carries more than the partner's answers (no line, limit, balance);
old events are forgotten, never one still to be delivered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from app.runtime import runtime
from consent.models import ConsentRecord
from consent.services import grant_demo_consents
from core.idempotency import iso
from core.identity import Partner, Person, create_partner, create_resident
from core.jobs import JobContext
from events import endpoints
from events.jobs import retention
from events.models import Event, WebhookDelivery
from rewards.credit import services as credit
from rewards.credit.models import CreditAccount, CreditBill, CreditHold
from rewards.models import ConsumedToken, IssuedToken
from rewards.waivers.models import DepositWaiver
from tests.support.factories import T0, id_number

# What no event may carry (the disclosure rule: decisions only, never the resident's standing).
NEVER = {"line_fen", "limit", "limits", "tier", "available_fen", "balance", "held_fen",
         "owed_total_fen", "cap_fen", "resident_id", "score"}


def _world(uow: Any) -> tuple[Any, Partner, Partner]:
    session = uow.session
    resident = create_resident(session, runtime().keyring, Person("测试", id_number(61), None),
                               now=T0)
    hospital, _ = create_partner(session, name="医院", kind="hospital",
                                 scenarios=["medical_credit"], now=T0)
    channel, _ = create_partner(session, name="支付", kind="payment_channel",
                                scenarios=["medical_credit"], now=T0)
    session.add(CreditAccount(resident_id=resident.id, line_fen=100000, held_fen=0,
                              owed_fen=0, created_at=T0, updated_at=T0))
    session.flush()
    return resident, hospital, channel


def _events(session: Any, partner: Partner) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.partner_id == partner.id)
                                .order_by(Event.seq)))


def _jobs(session: Any) -> list[tuple[str, str, dict]]:
    return [tuple(r) for r in session.execute(text(
        "SELECT task_name, lock, args FROM procrastinate_jobs ORDER BY id"))]


def _hold(session: Any, resident: Any, partner: Partner, amount: int = 3000) -> CreditHold:
    hold = CreditHold(id=uuid.uuid4(), resident_id=resident.id, partner_id=partner.id,
                      out_request_no=uuid.uuid4().hex, amount_fen=amount, line_fen=100000,
                      status="held", created_at=T0, expires_at=T0 + timedelta(hours=24),
                      closed_at=None)
    session.add(hold)
    session.flush()
    return hold


def test_a_hold_and_its_bill_write_their_events_in_order_with_one_delivery_each(app, uow):
    resident, hospital, channel = _world(uow)
    session = uow.session
    endpoint, _ = endpoints.register(uow, runtime().keyring, hospital.id,
                                     url="https://hospital.example/hooks", event_types=["*"],
                                     description="", now=T0)
    hold = _hold(session, resident, hospital)
    hold.status, hold.closed_at = "captured", T0 + timedelta(minutes=5)
    session.flush()
    bill = CreditBill(id=uuid.uuid4(), hold_id=hold.id, resident_id=resident.id,
                      partner_id=hospital.id, out_bill_no="B-1", amount_fen=3000, paid_fen=0,
                      status="open", created_at=T0 + timedelta(minutes=5),
                      due_at=T0 + timedelta(days=7), reminded_at=None, overdue_at=None,
                      paid_at=None, record_id=None)
    session.add(bill)
    session.execute(text("UPDATE credit_accounts SET owed_fen = 3000 WHERE resident_id = :r"),
                    {"r": resident.id})
    uow.commit()
    # The payment goes through the use case (its SQL function): the trigger sees it too.
    credit.pay(runtime().uow, bill.id, partner=channel, amount_fen=3000, out_payment_no="P-1",
               now=T0 + timedelta(days=1))

    with runtime().uow() as check:
        events = _events(check.session, hospital)
        assert [e.type for e in events] == ["hold.placed", "hold.captured", "bill.due",
                                            "bill.paid"]
        # One resource per hold: the bill's events are ordered with its hold's.
        assert {e.resource for e in events} == {f"hold:{hold.id}"}
        assert events[0].data == {"authorization_id": str(hold.id),
                                  "out_request_no": hold.out_request_no, "amount_fen": 3000,
                                  "status": "held"}
        assert events[3].data["status"] == "paid" and events[3].data["owed_fen"] == 0
        for event in events:
            assert not NEVER & set(event.data), event.data
        deliveries = check.session.scalars(select(WebhookDelivery)).all()
        assert sorted(d.event_id for d in deliveries) == sorted(e.id for e in events)
        jobs = _jobs(check.session)
        assert len(jobs) == 4
        ordered_by = f"webhook:{endpoint['endpoint_id']}:hold:{hold.id}"
        assert {lock for _, lock, _ in jobs} == {ordered_by}
        assert {name for name, _, _ in jobs} == {"events.deliver"}
        assert {a["delivery_id"] for _, _, a in jobs} == {str(d.id) for d in deliveries}


def test_an_event_goes_only_to_endpoints_that_chose_its_type(app, uow):
    resident, hospital, _ = _world(uow)
    for types in (["hold.voided"], ["bill.paid"]):
        endpoints.register(uow, runtime().keyring, hospital.id, url="http://127.0.0.1:9/x",
                           event_types=types, description="", now=T0)
    hold = _hold(uow.session, resident, hospital)
    hold.status, hold.closed_at = "voided", T0
    uow.session.flush()
    rows = uow.session.execute(text(
        "SELECT e.type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id")).all()
    assert [r[0] for r in rows] == ["hold.voided"]
    # The event itself is kept whether or not an endpoint wanted it.
    assert [e.type for e in _events(uow.session, hospital)] == ["hold.placed", "hold.voided"]


def test_a_change_rolled_back_leaves_no_event_no_delivery_and_no_job(app, uow):
    resident, hospital, _ = _world(uow)
    endpoints.register(uow, runtime().keyring, hospital.id, url="https://h.example/",
                       event_types=["*"], description="", now=T0)
    session = uow.session
    before = (session.scalar(text("SELECT count(*) FROM events")),
              session.scalar(text("SELECT count(*) FROM procrastinate_jobs")))
    savepoint = session.begin_nested()
    _hold(session, resident, hospital)
    assert session.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == before[1] + 1
    savepoint.rollback()
    assert (session.scalar(text("SELECT count(*) FROM events")),
            session.scalar(text("SELECT count(*) FROM procrastinate_jobs"))) == before
    assert session.scalar(text("SELECT count(*) FROM webhook_deliveries")) == 0


def test_waiver_states_and_its_record_are_events_without_the_cap(app, uow):
    resident, _, _ = _world(uow)
    session = uow.session
    bikes, _ = create_partner(session, name="单车", kind="deposit_partner",
                              scenarios=["deposit_waiver_bike"], now=T0)
    waiver = DepositWaiver(id=uuid.uuid4(), resident_id=resident.id, partner_id=bikes.id,
                           scenario="deposit_waiver_bike", out_order_no="W-1", item="单车",
                           deposit_fen=29900, cap_fen=50000, status="active", created_at=T0,
                           due_at=T0 + timedelta(days=1), completed_at=None, defaulted_at=None,
                           settled_at=None, record_id=None)
    session.add(waiver)
    session.flush()
    waiver.status, waiver.defaulted_at = "defaulted", T0 + timedelta(days=2)
    session.flush()
    waiver.record_id = uuid.uuid4()
    session.flush()
    events = _events(session, bikes)
    assert [e.type for e in events] == ["waiver.created", "waiver.defaulted", "waiver.recorded"]
    assert events[1].occurred_at == T0 + timedelta(days=2)
    assert all(e.data["deposit_fen"] == 29900 and not NEVER & set(e.data) for e in events)


def test_a_withdrawn_scenario_consent_is_told_to_its_token_holders_and_kills_open_tokens(
        app, uow):
    resident, _, _ = _world(uow)
    session = uow.session
    grant_demo_consents(uow, resident, T0)
    bikes, _ = create_partner(session, name="单车", kind="deposit_partner",
                              scenarios=["deposit_waiver_bike"], now=T0)
    powerbank, _ = create_partner(session, name="充电宝", kind="deposit_partner",
                                  scenarios=["deposit_waiver_powerbank"], now=T0)
    bystander, _ = create_partner(session, name="另一家单车", kind="deposit_partner",
                                  scenarios=["deposit_waiver_bike"], now=T0)

    def issued(jti: str, partner: Partner, scenario: str, expires: timedelta) -> None:
        session.add(IssuedToken(jti=jti, code=jti[:18], partner_id=partner.id,
                                resident_id=resident.id, scenario=scenario, limits={},
                                token="t", issued_at=T0, expires_at=T0 + expires))

    issued("open-token", bikes, "deposit_waiver_bike", timedelta(minutes=10))
    issued("used-token", bikes, "deposit_waiver_bike", timedelta(minutes=10))
    issued("stale-token", bikes, "deposit_waiver_bike", timedelta(seconds=30))
    issued("other-scenario", powerbank, "deposit_waiver_powerbank", timedelta(minutes=10))
    session.flush()
    session.add(ConsumedToken(jti="used-token", partner_id=bikes.id, resident_id=resident.id,
                              scenario="deposit_waiver_bike", consumed_at=T0,
                              expires_at=T0 + timedelta(minutes=10)))
    session.flush()
    record = session.scalar(select(ConsentRecord).where(
        ConsentRecord.resident_id == resident.id,
        ConsentRecord.purpose == "scenario:deposit_waiver_bike",
        ConsentRecord.status == "active"))
    assert record is not None
    record.status, record.ended_at = "withdrawn", T0 + timedelta(minutes=1)
    session.flush()

    told = [(e.type, e.data) for e in _events(session, bikes)]
    assert told == [
        ("consent.withdrawn", {"scenario": "deposit_waiver_bike",
                               "withdrawn_at": iso(T0 + timedelta(minutes=1))}),
        ("token.revoked", {"jti": "open-token", "scenario": "deposit_waiver_bike",
                           "reason": "consent_withdrawn"})]
    assert _events(session, powerbank) == [] and _events(session, bystander) == []


def test_retention_forgets_events_after_90_days_but_never_one_still_pending(app, uow):
    resident, hospital, _ = _world(uow)
    session = uow.session
    _hold(session, resident, hospital)  # no endpoint: an event and nothing to deliver
    endpoints.register(uow, runtime().keyring, hospital.id, url="https://h.example/",
                       event_types=["*"], description="", now=T0)
    _hold(session, resident, hospital)  # its delivery stays pending
    uow.commit()
    ctx = JobContext(uow=runtime().uow, now=T0 + timedelta(days=91))
    assert retention(ctx)["events"] == 1
    assert [e.type for e in _events(session, hospital)] == ["hold.placed"]
    assert session.scalar(text("SELECT count(*) FROM webhook_deliveries")) == 1
    assert retention(JobContext(uow=runtime().uow, now=T0 + timedelta(days=89))
                     )["events"] == 0
