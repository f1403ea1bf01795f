"""Resident messages through channels (events.channels): each notice that goes out queues its
message in the notice's own transaction, by the real use case that writes it; nothing for a
notice rolled back; quiet hours hold messages until 08:00 Asia/Shanghai; at most the daily
limit reaches a resident; no phone or an erased account gets nothing; what a message says
carries no name or ID number and dates as the resident reads them."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.runtime import runtime
from consent import notices
from consent.models import ConsentRecord
from consent.services import Signing, expire_due, grant_demo_consents
from core.identity import Person, Resident, create_operator, create_partner, create_resident
from core.notifications import Notification, notify
from core.recordops import write_internal
from events import channels
from events.channels import ChannelMessage, Sink
from rewards.credit import jobs as credit_jobs
from rewards.credit import terms as credit_terms
from rewards.credit.models import CreditAccount, CreditBill, CreditHold
from rewards.waivers import services as waivers
from rewards.waivers.models import DepositWaiver
from rights import disputes, reviews
from rights.erasure import erase
from tests.support.factories import T0, id_number

PHONE = "13812345678"
NAME = "李四海"

# 2026-11-02 in Shanghai (UTC+8): local hour h is UTC hour h - 8.
def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def _resident(uow: Any, n: int, phone: str | None = PHONE) -> Resident:
    resident = create_resident(uow.session, runtime().keyring, Person(NAME, id_number(n), phone),
                               now=T0)
    uow.session.flush()
    return resident


def _note(uow: Any, resident: Resident, now: datetime, kind: str = "review_decided",
          **data: Any) -> Notification:
    key = uuid.uuid4().hex
    assert notify(uow.session, resident_id=resident.id, kind=kind, dedupe_key=key,
                  title=("t", "t"), body=("b", "b"), now=now,
                  data=data or {"outcome": "confirmed"})
    uow.session.flush()
    return uow.session.scalars(select(Notification).where(Notification.dedupe_key == key)).one()


def _messages(uow: Any, resident: Resident) -> list[tuple[Notification, ChannelMessage]]:
    rows = uow.session.execute(
        select(Notification, ChannelMessage)
        .join(ChannelMessage, ChannelMessage.notification_id == Notification.id)
        .where(Notification.resident_id == resident.id)
        .order_by(Notification.created_at, Notification.kind)).all()
    return [(n, m) for n, m in rows]


def _kinds(uow: Any, resident: Resident) -> list[str]:
    return [n.kind for n, _ in _messages(uow, resident)]


def _send(now: datetime, channel: Any = None, limit: int = 3) -> dict[str, int]:
    return channels.send_due(runtime().uow, runtime().keyring, channel or Sink(), now=now,
                             daily_limit=limit)


# -- captured with the notice ---------------------------------------------------------------

def test_the_trigger_queues_exactly_the_kinds_that_have_a_template():
    sql = (Path(channels.__file__).parent / "sql" / "channels.sql").read_text()
    listed = re.search(r"p_note->>'kind' IN \((.*?)\)", sql, re.S)
    assert listed is not None
    assert set(re.findall(r"'(\w+)'", listed.group(1))) == set(channels.TEMPLATES)


def test_a_notice_that_goes_out_queues_one_message_and_an_inbox_only_one_none(app, uow):
    resident = _resident(uow, 70)
    note = _note(uow, resident, T0, kind="dispute_resolved", outcome="removed")
    _note(uow, resident, T0, kind="medical_credit_paid", bill_id="x")  # inbox only
    [(queued_note, msg)] = _messages(uow, resident)
    assert queued_note.id == note.id
    assert (msg.status, msg.attempts, msg.next_attempt_at) == ("queued", 0, T0)


def test_nothing_is_queued_for_a_notice_that_rolled_back(app, uow):
    resident = _resident(uow, 71)
    uow.commit()
    with runtime().uow() as work:
        _note(work, resident, T0)
        assert len(_messages(work, resident)) == 1  # in the notice's transaction …
    with runtime().uow() as fresh:
        assert _messages(fresh, resident) == []  # … and gone with it


def _credit_world(uow: Any, resident: Resident, *, owed: int, due_at: datetime) -> CreditBill:
    session = uow.session
    hospital, _ = create_partner(session, name="医院", kind="hospital",
                                 scenarios=["medical_credit"], now=T0)
    session.add(CreditAccount(resident_id=resident.id, line_fen=100000, held_fen=0,
                              owed_fen=owed, created_at=T0, updated_at=T0))
    hold = CreditHold(id=uuid.uuid4(), resident_id=resident.id, partner_id=hospital.id,
                      out_request_no="R-1", amount_fen=owed, line_fen=100000,
                      status="captured", created_at=T0, expires_at=T0 + timedelta(hours=24),
                      closed_at=T0)
    session.add(hold)
    session.flush()
    bill = CreditBill(id=uuid.uuid4(), hold_id=hold.id, resident_id=resident.id,
                      partner_id=hospital.id, out_bill_no="B-1", amount_fen=owed, paid_fen=0,
                      status="open", created_at=T0, due_at=due_at, reminded_at=None,
                      overdue_at=None, paid_at=None, record_id=None)
    session.add(bill)
    session.flush()
    return bill


def test_the_credit_jobs_queue_the_reminder_the_overdue_notice_and_the_record(app, uow):
    resident = _resident(uow, 72)
    due = local(5, 23, 30)  # 23:30 on 5 Nov in Shanghai: still 15:30 UTC
    _credit_world(uow, resident, owed=12850, due_at=due)
    terms = credit_terms.from_config(runtime().settings)
    session = uow.session
    assert credit_jobs.remind(session, due - timedelta(days=1), terms) == 1
    assert credit_jobs.mark_overdue(session, due + timedelta(hours=1), terms) == 1
    assert credit_jobs.report(session, due + terms.grace + timedelta(hours=1), terms) == 1
    session.flush()
    assert _kinds(uow, resident) == ["medical_credit_reminder", "medical_credit_overdue",
                                     "medical_credit_reported"]
    assert _send(local(14, 9)) == {"sent": 3}
    texts = [m.content or "" for _, m in _messages(uow, resident)]
    # The amount in yuan and the due date as the resident's calendar shows it (5 Nov, Shanghai).
    assert "尚欠128.50元，将于11月5日到期" in texts[0]
    assert "尚欠128.50元已逾期，先诊后付已暂停使用" in texts[1]
    assert "已形成逾期记录" in texts[2]
    for text in texts:
        assert text.startswith("【鹏城分】") and NAME not in text and id_number(72) not in text


def test_a_deposit_waiver_default_is_queued(app, uow):
    resident = _resident(uow, 73)
    bikes, _ = create_partner(uow.session, name="单车", kind="deposit_partner",
                              scenarios=["deposit_waiver_bike"], now=T0)
    waiver = DepositWaiver(id=uuid.uuid4(), resident_id=resident.id, partner_id=bikes.id,
                           scenario="deposit_waiver_bike", out_order_no="W-1",
                           item="单车 #SZ-1", deposit_fen=29900, cap_fen=50000, status="active",
                           created_at=T0, due_at=T0 + timedelta(days=1), completed_at=None,
                           defaulted_at=None, settled_at=None, record_id=None)
    uow.session.add(waiver)
    uow.session.flush()
    waivers.default(uow, waiver.id, partner=bikes, now=T0 + timedelta(days=2),
                    grace=timedelta(days=7))
    assert _kinds(uow, resident) == ["deposit_waiver_defaulted"]
    _send(local(4, 10))
    [(_, msg)] = _messages(uow, resident)
    assert "请于11月10日前归还或结清" in (msg.content or "")
    assert "SZ-1" not in (msg.content or "")  # the partner's own words stay in the inbox


def _operator(uow: Any) -> Any:
    operator, _ = create_operator(uow.session, name="审核员", role="reviewer", now=T0)
    return operator


def test_a_dispute_resolved_and_a_review_decided_are_queued(app, uow):
    resident = _resident(uow, 74)
    session = uow.session
    record = write_internal(session, resident_id=resident.id, category="scenario_performance",
                            type="deposit_defaulted", source_record_id="w-74",
                            occurred_at=T0 - timedelta(days=1), now=T0)
    grant_demo_consents(uow, resident, T0)
    uow.commit()
    operator = _operator(uow)
    uow.commit()
    dispute = disputes.open_dispute(runtime().uow(), resident, record_id=record.id,
                                    reason="这笔违约已撤销", evidence=None, now=T0, days=15)
    disputes.resolve(runtime().uow(), dispute.id, outcome="upheld", note="核实：张先生已确认",
                     operator=operator, now=T0 + timedelta(days=1))
    review = reviews.request_review(runtime().uow(), resident, subject="score",
                                    reason="请人工复核", now=T0 + timedelta(days=2))
    reviews.decide(runtime().uow(), review.id, outcome="confirmed", note="维持",
                   operator=operator, now=T0 + timedelta(days=3))
    with runtime().uow() as check:
        assert _kinds(check, resident) == ["dispute_resolved", "review_decided"]
    _send(local(10, 9))
    with runtime().uow() as check:
        texts = [m.content or "" for _, m in _messages(check, resident)]
    assert "异议已处理" in texts[0] and "张先生" not in texts[0]  # never the operator's note
    assert "人工复核已完成：维持原结果" in texts[1]


def test_a_consent_that_expires_asks_for_renewal_by_message(app, uow):
    resident = _resident(uow, 75)
    grant_demo_consents(uow, resident, T0)
    record = uow.session.scalars(select(ConsentRecord).where(
        ConsentRecord.resident_id == resident.id)).first()
    assert record is not None
    record.expires_at = T0 + timedelta(days=1)
    uow.commit()
    assert expire_due(runtime().uow(), T0 + timedelta(days=2)) >= 1
    with runtime().uow() as check:
        [(note, msg)] = _messages(check, resident)
        assert note.kind == "consent_renewal" and note.data["event"] == "expired"
        assert "授权已到期" in note.body_zh
    assert expire_due(runtime().uow(), T0 + timedelta(days=3)) == 0  # asked once
    _send(local(10, 9))
    with runtime().uow() as check:
        [(_, msg)] = _messages(check, resident)
        assert "您的一项授权已到期" in (msg.content or "")


# -- sent by the worker --------------------------------------------------------------------

def test_the_sink_records_what_would_be_sent_and_the_notice_says_so(app, uow):
    resident = _resident(uow, 76)
    note = _note(uow, resident, T0, kind="medical_credit_bill", amount_fen=5000,
                 due_at="2026-11-08T16:30:00Z", bill_id="b")
    uow.commit()
    assert _send(local(2, 12)) == {"sent": 1}
    with runtime().uow() as check:
        [(sent_note, msg)] = _messages(check, resident)
        assert (msg.status, msg.channel, msg.recipient, msg.attempts) == (
            "sent", "sink", "138****5678", 1)
        assert msg.sent_at == local(2, 12)
        # 16:30 UTC on the 8th is the 9th in Shanghai
        assert msg.content == ("【鹏城分】您有一笔先诊后付账单50.00元，请于11月9日前还款。"
                               "详情请在鹏城分小程序查看。")
        assert sent_note.id == note.id and sent_note.data["channel"] == {
            "status": "sent", "reason": None, "via": "sink"}
    assert _send(local(2, 12, 1)) == {}  # sent once


@pytest.mark.parametrize(("queued", "ran", "sent"), [
    (local(2, 21, 50), local(2, 21, 59), True),    # before 22:00
    (local(2, 21, 50), local(2, 22, 0), False),    # 22:00 on: held
    (local(2, 23, 0), local(3, 7, 59), False),     # still held at 07:59
    (local(2, 23, 0), local(3, 8, 0), True),       # sent at 08:00
])
def test_quiet_hours_hold_messages_until_eight(app, uow, queued, ran, sent):
    resident = _resident(uow, 77)
    _note(uow, resident, queued)
    uow.commit()
    counts = _send(ran)
    with runtime().uow() as check:
        [(_, msg)] = _messages(check, resident)
        assert msg.status == ("sent" if sent else "queued")
        assert counts == ({"sent": 1} if sent else {"held": 1})
        assert msg.sent_at == (ran if sent else None)


def test_past_the_daily_limit_a_notice_stays_in_the_inbox_marked_not_sent(app, uow):
    resident = _resident(uow, 78)
    for minute in range(4):
        _note(uow, resident, local(2, 9, minute))
    uow.commit()
    assert _send(local(2, 10), limit=3) == {"sent": 3, "rate_limited": 1}
    with runtime().uow() as check:
        rows = _messages(check, resident)
        assert [m.status for _, m in rows] == ["sent", "sent", "sent", "not_sent"]
        note, msg = rows[3]
        assert (msg.reason, msg.content, msg.recipient) == ("rate_limited", None, None)
        assert note.data["channel"] == {"status": "not_sent", "reason": "rate_limited",
                                        "via": None}
        _note(check, resident, local(3, 9))  # the next Shanghai day counts afresh
        check.commit()
    assert _send(local(3, 9, 5), limit=3) == {"sent": 1}


def test_no_phone_and_an_erased_account_get_nothing(app, uow):
    silent = _resident(uow, 79, phone=None)
    erased = _resident(uow, 80)
    _note(uow, silent, T0)
    _note(uow, erased, T0)
    erased.status = "erased"
    uow.commit()
    calls: list[Any] = []

    class Counting(Sink):
        def send(self, message: Any) -> Any:
            calls.append(message)
            return super().send(message)

    assert _send(local(2, 10), Counting()) == {"no_phone": 1, "erased": 1}
    assert calls == []
    with runtime().uow() as check:
        for resident, reason in ((silent, "no_phone"), (erased, "erased")):
            [(_, msg)] = _messages(check, resident)
            assert (msg.status, msg.reason, msg.attempts) == ("not_sent", reason, 0)


def test_the_phone_is_never_logged_nor_kept(app, uow, caplog):
    resident = _resident(uow, 81)
    _note(uow, resident, T0)
    uow.commit()

    class Down(Sink):
        def send(self, message: Any) -> Any:
            return channels.Result(sent=False, error="connection refused", retry=True)

    caplog.set_level(logging.DEBUG)
    assert _send(local(2, 10), Down()) == {"retry": 1}
    assert PHONE not in caplog.text and "connection refused" in caplog.text
    with runtime().uow() as check:
        [(_, msg)] = _messages(check, resident)
        assert msg.recipient == "138****5678"
        assert PHONE not in repr(channels.compose(msg.id, check.session.get(
            Notification, msg.notification_id), PHONE))


def test_an_erasure_takes_the_queued_messages_with_the_notices(app, uow):
    resident = _resident(uow, 82)
    _note(uow, resident, T0)
    uow.commit()
    erase(runtime().uow(), resident, keyring=runtime().keyring,
          signing=Signing(runtime().signer, app.config["ISSUER"]), now=T0 + timedelta(hours=1))
    with runtime().uow() as check:
        assert _messages(check, resident) == []
        assert check.session.scalars(select(ChannelMessage)).all() == []
    assert _send(local(2, 10)) == {}


def test_the_worker_sends_every_minute_through_the_configured_channel(app, uow, monkeypatch):
    from events import queue

    assert ("channels.send", "channels.send") in queue.queue.periodic_registry.periodic_tasks
    periodic = queue.queue.periodic_registry.periodic_tasks[("channels.send", "channels.send")]
    assert periodic.cron == "* * * * *" and periodic.task.queue == "jobs"
    resident = _resident(uow, 83)
    _note(uow, resident, T0)
    uow.commit()
    monkeypatch.setattr(queue, "_worker", queue.Worker(runtime()))
    assert queue.send_messages(timestamp=0) == {"sent": 1}  # at the runtime's clock (T0)
    with runtime().uow() as check:
        [(_, msg)] = _messages(check, resident)
        assert (msg.channel, msg.sent_at) == ("sink", runtime().clock.now())


def test_a_consent_invalidated_by_a_new_notice_asks_for_renewal(app, uow):
    resident = _resident(uow, 84)
    grant_demo_consents(uow, resident, T0)
    uow.commit()
    purpose = "scenario:medical_credit"
    old = notices.current(uow.session, purpose)
    assert old is not None
    fields = {k: v for k, v in notices.document(old).items() if k in notices.INPUT_FIELDS}
    fields["recipients"] = [*old.recipients, {**old.recipients[0], "name_zh": "新的接收方",
                                              "name_en": "A new recipient"}]
    published = notices.publish(runtime().uow(), purpose=purpose, now=local(2, 10),
                                actor="operator:test", **fields)
    assert published.material and published.invalidated >= 1
    with runtime().uow() as check:
        [(note, msg)] = _messages(check, resident)
        assert (note.kind, note.data["event"], msg.status) == (
            "consent_renewal", "invalidated", "queued")
        assert "告知书已更新" in note.body_zh
    _send(local(2, 11))
    with runtime().uow() as check:
        [(_, msg)] = _messages(check, resident)
        assert "您的一项授权因告知书更新已失效" in (msg.content or "")
