"""Two workers sending at once share the messages and keep the daily limit: each message goes
once, and one resident gets no more than the limit however the messages are split."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.runtime import runtime
from core.identity import Person, create_resident
from core.notifications import notify
from events import channels
from events.channels import ChannelMessage, Sink
from tests.support.factories import T0, id_number

NOON = T0 + timedelta(hours=-4)  # 12:00 in Shanghai


class Slow(Sink):
    """A gateway that takes its time, so the two workers overlap; it keeps what it got."""

    def __init__(self) -> None:
        self.got: list[uuid.UUID] = []

    def send(self, message: Any) -> Any:
        time.sleep(0.3)
        self.got.append(message.id)
        return super().send(message)


def test_two_senders_at_once_send_each_message_once_within_the_limit(app):
    with app.app_context(), runtime().uow() as uow:
        resident = create_resident(uow.session, runtime().keyring,
                                   Person("钱七", id_number(95), "13600000000"), now=T0)
        uow.session.flush()
        for i in range(5):
            notify(uow.session, resident_id=resident.id, kind="review_decided",
                   dedupe_key=f"c-{i}", title=("t", "t"), body=("b", "b"),
                   now=NOON + timedelta(seconds=i), data={"outcome": "confirmed"})
        uow.commit()
    gateway = Slow()
    results: list[dict[str, int]] = []

    def worker() -> None:
        with app.app_context():
            results.append(channels.send_due(runtime().uow, runtime().keyring, gateway,
                                             now=NOON + timedelta(minutes=1), daily_limit=2))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(gateway.got) == len(set(gateway.got)) == 2
    with app.app_context(), runtime().uow() as uow:
        statuses = sorted(m.status for m in uow.session.scalars(select(ChannelMessage)))
    assert statuses == ["not_sent"] * 3 + ["sent"] * 2
    assert sum(r.get("sent", 0) for r in results) == 2
    assert sum(r.get("rate_limited", 0) for r in results) == 3
