"""The gateway adapters over real HTTP, against a receiver thread on 127.0.0.1: a message goes
with the gateway key and one message id on every attempt (the gateway's dedupe key); 5xx and
silence are retried along `SCHEDULE`, then the message fails; a 4xx fails at once; the WeChat
adapter sends the kind's template and the fields."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from app.runtime import runtime
from core.identity import Person, create_resident
from core.notifications import Notification, notify
from events import channels
from events.channels import SCHEDULE, ChannelMessage, HttpGateway, WeChatGateway
from tests.support.factories import T0, id_number

PHONE = "13912340000"
NOON = T0 + timedelta(hours=-4)  # 12:00 in Shanghai on 1 Nov (T0 is 16:00 there)


class Receiver:
    """A gateway on a thread: answers each POST with the next status of `answers` (the last
    one repeats) and keeps what it was sent."""

    def __init__(self, answers: list[int]) -> None:
        self.answers, self.seen = list(answers), []  # type: ignore[var-annotated]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.seen.append((dict(self.headers), json.loads(body)))
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else \
                    receiver.answers[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(answers: list[int]) -> Receiver:
        made.append(Receiver(answers))
        return made[-1]

    yield make
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def _queued(uow: Any, kind: str = "medical_credit_reminder", n: int = 90,
            **data: Any) -> ChannelMessage:
    resident = create_resident(uow.session, runtime().keyring,
                               Person("赵六", id_number(n), PHONE), now=T0)
    key = uuid.uuid4().hex
    notify(uow.session, resident_id=resident.id, kind=kind, dedupe_key=key, title=("t", "t"),
           body=("b", "b"), now=NOON,
           data=data or {"owed_fen": 990, "due_at": "2026-11-03T08:00:00Z", "bill_id": "b"})
    uow.commit()
    note = uow.session.scalars(select(Notification).where(Notification.dedupe_key == key)).one()
    return uow.session.scalars(select(ChannelMessage).where(
        ChannelMessage.notification_id == note.id)).one()


def _send(channel: Any, at: Any) -> dict[str, int]:
    return channels.send_due(runtime().uow, runtime().keyring, channel, now=at, daily_limit=10)


def _state(message_id: uuid.UUID) -> ChannelMessage:
    with runtime().uow() as check:
        msg = check.session.get(ChannelMessage, message_id)
        assert msg is not None
        return msg


def test_a_5xx_is_retried_with_backoff_under_one_message_id(app, uow, receiver):
    gateway = receiver([503, 502, 200])
    msg = _queued(uow)
    sms = HttpGateway(gateway.url, "gw-key")
    assert _send(sms, NOON) == {"retry": 1}
    first = _state(msg.id)
    assert (first.status, first.attempts, first.last_error) == ("queued", 1, "HTTP 503")
    assert first.next_attempt_at == NOON + timedelta(seconds=SCHEDULE[0])
    assert _send(sms, NOON + timedelta(seconds=SCHEDULE[0] - 1)) == {}  # not due yet
    assert _send(sms, first.next_attempt_at) == {"retry": 1}
    second = _state(msg.id)
    assert second.next_attempt_at == first.next_attempt_at + timedelta(seconds=SCHEDULE[1])
    assert _send(sms, second.next_attempt_at) == {"sent": 1}
    done = _state(msg.id)
    assert (done.status, done.attempts, done.channel, done.recipient) == (
        "sent", 3, "sms", "139****0000")
    assert len(gateway.seen) == 3
    ids = {headers["Idempotency-Key"] for headers, _ in gateway.seen}
    assert ids == {str(msg.id)} == {body["message_id"] for _, body in gateway.seen}
    headers, body = gateway.seen[-1]
    assert headers["Authorization"] == "Bearer gw-key"
    assert body["to"] == PHONE  # the phone goes to the gateway only
    assert body["text"] == done.content
    assert "尚欠9.90元，将于11月3日到期" in body["text"]


def test_a_gateway_that_keeps_failing_fails_the_message_after_the_schedule(app, uow, receiver):
    gateway = receiver([500])
    msg = _queued(uow)
    sms = HttpGateway(gateway.url, "k")
    at = NOON
    for _ in SCHEDULE:
        assert _send(sms, at) == {"retry": 1}
        at = _state(msg.id).next_attempt_at
    assert _send(sms, at) == {"gateway": 1}
    failed = _state(msg.id)
    assert (failed.status, failed.reason, failed.attempts) == ("failed", "gateway",
                                                              len(SCHEDULE) + 1)
    assert len(gateway.seen) == len(SCHEDULE) + 1


def test_a_4xx_fails_at_once_and_silence_is_retried(app, uow, receiver):
    gateway = receiver([400])
    msg = _queued(uow)
    assert _send(HttpGateway(gateway.url, "k"), NOON) == {"gateway": 1}
    assert _state(msg.id).status == "failed" and len(gateway.seen) == 1
    closed = receiver([200])
    url = closed.url
    closed.server.shutdown()
    closed.server.server_close()  # nothing listens there now
    other = _queued(uow, kind="review_decided", n=91, outcome="changed")
    assert _send(HttpGateway(url, "k"), NOON) == {"retry": 1}
    assert _state(other.id).last_error


def test_the_wechat_adapter_sends_the_kinds_template_and_fields(app, uow, receiver):
    gateway = receiver([200])
    msg = _queued(uow, kind="medical_credit_bill", amount_fen=12000,
                  due_at="2026-11-07T16:00:00Z", bill_id="b")
    wechat = WeChatGateway(gateway.url, "wx-key", templates={"medical_credit_bill": "TPL-BILL"})
    assert _send(wechat, NOON) == {"sent": 1}
    [(headers, body)] = gateway.seen
    assert headers["Idempotency-Key"] == str(msg.id) and body["template_id"] == "TPL-BILL"
    assert body["data"]["amount"] == {"value": "120.00元"}
    assert body["data"]["date"] == {"value": "11月8日"}
    assert _state(msg.id).channel == "wechat"


def test_the_configured_channel(app):
    assert isinstance(channels.configured({}), channels.Sink)
    sms = channels.configured({"CHANNEL": "sms", "SMS_GATEWAY_URL": "https://gw",
                               "SMS_GATEWAY_KEY": "k"})
    assert isinstance(sms, HttpGateway)
    assert (sms.url, sms.key, sms.name) == ("https://gw", "k", "sms")
    wechat = channels.configured({"CHANNEL": "wechat", "WECHAT_GATEWAY_URL": "https://wx",
                                  "WECHAT_GATEWAY_KEY": "k",
                                  "WECHAT_TEMPLATES": '{"default": "T"}'})
    assert isinstance(wechat, WeChatGateway) and wechat.templates == {"default": "T"}


def test_a_worker_that_dies_after_the_gateway_took_a_message_sends_it_again_same_id(
        app, uow, receiver):
    """The worker dies between the gateway's 200 and its commit (SystemExit stands in for
    `kill -9`: the transaction is never committed): the message is still queued, and the next
    run sends it again under the same id, which the gateway drops as a repeat."""
    gateway = receiver([200])
    msg = _queued(uow)
    sms = HttpGateway(gateway.url, "k")

    class DiesAfterSending(HttpGateway):
        def send(self, message: Any) -> Any:
            sms.send(message)
            raise SystemExit("killed")

    with pytest.raises(SystemExit):
        _send(DiesAfterSending(gateway.url, "k"), NOON)
    lost = _state(msg.id)
    assert (lost.status, lost.attempts) == ("queued", 0)
    assert _send(sms, NOON + timedelta(minutes=1)) == {"sent": 1}
    assert [body["message_id"] for _, body in gateway.seen] == [str(msg.id)] * 2
    assert _state(msg.id).status == "sent"


@pytest.mark.parametrize("kind", ["sink", "sms", "wechat"])
def test_every_channel_keeps_the_same_contract(app, uow, receiver, kind):
    """Whichever channel is configured, a message it takes is `sent` under its name, with the
    masked number and the text that went out; one it refuses for good is `failed`."""
    settings = {"CHANNEL": kind, "SMS_GATEWAY_URL": receiver([200]).url, "SMS_GATEWAY_KEY": "k",
                "WECHAT_GATEWAY_URL": receiver([200]).url, "WECHAT_GATEWAY_KEY": "k",
                "WECHAT_TEMPLATES": '{"default": "T"}'}
    channel = channels.configured(settings)
    msg = _queued(uow, kind="dispute_resolved", outcome="corrected")
    assert _send(channel, NOON) == {"sent": 1}
    sent = _state(msg.id)
    assert (sent.channel, sent.recipient, sent.attempts) == (kind, "139****0000", 1)
    assert sent.content == "【鹏城分】您提出的异议已处理：该记录已更正。详情请在鹏城分小程序查看。"
    if kind != "sink":
        refusing = channels.configured({**settings, f"{kind.upper()}_GATEWAY_URL":
                                        receiver([403]).url})
        other = _queued(uow, kind="review_decided", n=92, outcome="changed")
        assert _send(refusing, NOON) == {"gateway": 1}
        assert _state(other.id).status == "failed"
