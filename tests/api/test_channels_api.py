"""Resident messages through the real partner call: a bill captured by the hospital queues its
message with the bill's notice; the sink sends it with the amount and the due date, and the
resident's inbox says whether it went out by message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.config import DEFAULTS, ConfigError, resolve
from app.runtime import runtime
from core.crypto import new_key_text
from core.identity import Person, Resident, find_resident, read_personal, set_personal
from core.notifications import Notification
from events import channels
from events.channels import ChannelMessage, Sink
from tests.support.factories import bearer, id_number
from tests.support.medical_credit import Credit


def _give_phone(app: Any) -> Resident:
    with app.app_context(), runtime().uow() as uow:
        keyring = runtime().keyring
        resident = find_resident(uow.session, keyring, id_number(7))
        assert resident is not None
        person = read_personal(uow.session, keyring, resident)
        set_personal(uow.session, keyring, resident,
                     Person(person.name, person.id_number, "13700001111"))
        uow.commit()
        return resident


def _rows(app: Any) -> list[tuple[Notification, ChannelMessage]]:
    with app.app_context(), runtime().uow() as uow:
        return [(n, m) for n, m in uow.session.execute(
            select(Notification, ChannelMessage)
            .join(ChannelMessage, ChannelMessage.notification_id == Notification.id)).all()]


def test_a_captured_bill_queues_its_message_and_the_inbox_says_it_was_sent(app, client, idp):
    world = Credit(app, client, idp)
    _give_phone(app)
    held = world.hold(20000)
    bill = world.capture(held["authorization_id"], 12850).get_json()
    [(note, msg)] = _rows(app)
    assert (note.kind, msg.status, str(note.data["bill_id"])) == (
        "medical_credit_bill", "queued", bill["bill_id"])
    with app.app_context():
        now = runtime().clock.now() + timedelta(minutes=1)  # T0: 16:00 in Shanghai
        assert channels.send_due(runtime().uow, runtime().keyring, Sink(), now=now,
                                 daily_limit=3) == {"sent": 1}
    [(_, msg)] = _rows(app)
    due = channels.day(bill["due_at"])
    assert msg.content is not None and f"128.50元，请于{due}前还款" in msg.content
    assert "王五" not in msg.content and msg.recipient == "137****1111"
    inbox = client.get("/api/v1/me/notifications", headers=bearer(world.resident)).get_json()
    [item] = [i for i in inbox["items"] if i["kind"] == "medical_credit_bill"]
    assert item["data"]["channel"] == {"status": "sent", "reason": None, "via": "sink"}


@pytest.mark.parametrize(("settings", "named"), [
    ({"CHANNEL": "sms"}, "PENGCHENG_SMS_GATEWAY_URL"),
    ({"CHANNEL": "wechat", "WECHAT_GATEWAY_URL": "https://wx.example"},
     "PENGCHENG_WECHAT_GATEWAY_KEY"),
    ({"CHANNEL": "pigeon"}, "PENGCHENG_CHANNEL"),
    ({"CHANNEL_DAILY_LIMIT": "three"}, "PENGCHENG_CHANNEL_DAILY_LIMIT"),
])
def test_a_channel_without_its_gateway_refuses_to_start(tmp_path, settings, named):
    config = {"MASTER_KEY": new_key_text(), "INDEX_KEY": new_key_text(), **settings}
    with pytest.raises(ConfigError, match=named):
        resolve({**DEFAULTS, **config}, str(tmp_path))
