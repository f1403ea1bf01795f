"""Webhooks delivered by `pengcheng worker` to a real receiver on 127.0.0.1: the first attempts
fail and are retried; every request is signed (v1 checked by the standardwebhooks library, v1a
with the published Ed25519 key); one hold's events arrive in order; `kill -9` of the worker in
the middle of a delivery loses none and repeats only the one in flight (at least once); a
change rolled back is never delivered."""

from __future__ import annotations

import signal
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.runtime import runtime
from core.identity import Partner
from rewards.credit.models import CreditHold
from tests.support.factories import T0, bearer
from tests.support.medical_credit import Credit
from tests.support.webhooks import Receiver, WorkerProcess, until, verify_v1, verify_v1a

pytestmark = [pytest.mark.services, pytest.mark.commits]

HOOKS = "/partner/v1/webhooks"
NEVER = {"line_fen", "limit", "limits", "tier", "available_fen", "balance", "held_fen",
         "cap_fen", "resident_id", "score"}


@pytest.fixture
def credit(app: Any, client: Any, idp: Any) -> Credit:
    return Credit(app, client, idp)


def _register(credit: Credit, receiver: Receiver) -> dict[str, Any]:
    response = credit.client.post(HOOKS, headers=bearer(credit.hospital_key), json={
        "url": receiver.url, "event_types": ["*"], "description": "test"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def _activity(credit: Credit) -> list[str]:
    """Two holds captured and paid, one voided: (authorization ids)."""
    ids = []
    for amount in (1200, 3400):
        bill = credit.bill(amount)
        assert credit.pay(bill["bill_id"], amount).status_code == 201
        ids.append(bill["authorization_id"])
    held = credit.hold(500)
    assert credit.void(held["authorization_id"]).status_code == 200
    return [*ids, held["authorization_id"]]


def _expected(app: Any) -> dict[str, list[tuple[str, str]]]:
    """The committed events by resource, in order: [(webhook-id, type)]."""
    with app.app_context(), runtime().engine.connect() as conn:
        rows = conn.execute(text("SELECT id, type, resource FROM events ORDER BY seq")).all()
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for event_id, kind, resource in rows:
        found[resource].append((f"evt_{event_id.hex}", kind))
    return found


def _in_order_per_resource(receiver: Receiver, expected: dict[str, list[tuple[str, str]]]
                           ) -> None:
    """No request for an event arrived before every earlier event of its resource was
    acknowledged (2xx)."""
    position = {msg: (resource, i) for resource, events in expected.items()
                for i, (msg, _) in enumerate(events)}
    acked: dict[str, set[int]] = defaultdict(set)
    for request in sorted(receiver.requests, key=lambda r: r.at):
        resource, i = position[request.msg_id]
        assert set(range(i)) <= acked[resource], \
            f"{request.payload['type']} of {resource} came before an earlier event was taken"
        if 200 <= request.answered < 300:
            acked[resource].add(i)


def _public_keys(credit: Credit) -> list[str]:
    response = credit.client.get(f"{HOOKS}/keys", headers=bearer(credit.hospital_key))
    assert response.status_code == 200
    return [k["public_key"] for k in response.get_json()["keys"]]


def test_failed_deliveries_are_retried_signed_and_in_order_per_hold(
        app: Any, credit: Credit, config: dict[str, Any], tmp_path: Path) -> None:
    receiver = Receiver(answer=lambda n, h, b: 503 if n <= 2 else 200)  # two failures each
    endpoint = _register(credit, receiver)
    holds = _activity(credit)
    expected = _expected(app)
    # 2 x (placed, captured, due, paid), then placed and voided
    assert sum(len(v) for v in expected.values()) == 10
    worker = WorkerProcess(config, tmp_path / "w1").start()
    try:
        until(lambda: len(receiver.acknowledged()) >= 10, 90, "every event acknowledged")
        time.sleep(1)  # nothing more should come
    finally:
        worker.stop()
        receiver.close()

    keys = _public_keys(credit)
    by_id: dict[str, list[Any]] = defaultdict(list)
    for request in receiver.requests:
        by_id[request.msg_id].append(request)
        assert verify_v1(endpoint["secret"], request) == request.payload
        assert verify_v1a(keys, request)
    assert {msg for events in expected.values() for msg, _ in events} == set(by_id)
    for msg, requests in by_id.items():
        assert [r.answered for r in requests] == [503, 503, 200], msg
        assert len({r.body for r in requests}) == 1  # the same bytes at every attempt
    _in_order_per_resource(receiver, expected)

    # The delivery log shows each attempt.
    log = credit.client.get(f"{HOOKS}/deliveries", headers=bearer(credit.hospital_key))
    items = log.get_json()["items"]
    assert len(items) == 10 and {i["status"] for i in items} == {"delivered"}
    assert all([a["status_code"] for a in i["attempts"]] == [503, 503, 200] for i in items)

    # What a hold's events carry: its ids and state and the pairwise pseudonym, nothing more.
    first = [r.payload for r in receiver.acknowledged()
             if r.payload["data"].get("authorization_id") == holds[0]]
    assert [p["type"] for p in first] == ["hold.placed", "hold.captured", "bill.due",
                                          "bill.paid"]
    assert {p["data"]["sub"] for p in first} == {credit.hold(100)["sub"]}
    assert not any(NEVER & set(p["data"]) for p in first)


def test_kill_9_of_the_worker_mid_delivery_loses_nothing_and_repeats_only_the_one_in_flight(
        app: Any, credit: Credit, config: dict[str, Any], tmp_path: Path) -> None:
    receiver = Receiver(hold="bill.due")  # the first bill.due is kept waiting
    endpoint = _register(credit, receiver)
    _activity(credit)
    expected = _expected(app)
    first = WorkerProcess(config, tmp_path / "w1").start()
    second = WorkerProcess(config, tmp_path / "w2")
    try:
        assert receiver.holding.wait(60), "the worker never sent a bill.due"
        second.start()  # another machine's worker, already running when the first dies
        time.sleep(3)
        first.kill(signal.SIGKILL)  # while its delivery waits for an answer
        receiver.release.set()  # the dead worker's request is answered 200 into the void
        until(lambda: {r.msg_id for r in receiver.acknowledged()}
              == {m for events in expected.values() for m, _ in events},
              60, "every event acknowledged")
        time.sleep(1)
    finally:
        first.stop()
        second.stop()
        receiver.close()

    counts: dict[str, int] = defaultdict(int)
    for request in receiver.requests:
        counts[request.msg_id] += 1
        assert verify_v1(endpoint["secret"], request) == request.payload
    twice = {msg for msg, n in counts.items() if n > 1}
    # At least once: only the delivery in flight when the worker died came twice.
    assert receiver.held is not None
    assert twice == {receiver.held} and counts[receiver.held] == 2, counts
    _in_order_per_resource(receiver, expected)
    with app.app_context(), runtime().engine.connect() as conn:
        assert conn.scalar(text(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")) == 0


def test_an_event_of_a_rolled_back_change_is_never_delivered(
        app: Any, credit: Credit, config: dict[str, Any], tmp_path: Path) -> None:
    receiver = Receiver()
    _register(credit, receiver)
    worker = WorkerProcess(config, tmp_path / "w1").start()
    try:
        with app.app_context(), runtime().uow() as uow:  # left without a commit
            hospital = uow.session.get(Partner, credit.hospital.id)
            assert hospital is not None
            uow.session.add(CreditHold(
                id=uuid.uuid4(), resident_id=uow.session.scalar(text("SELECT id FROM residents")),
                partner_id=hospital.id, out_request_no="rolled-back", amount_fen=100,
                line_fen=100, status="held", created_at=T0, expires_at=T0 + timedelta(hours=1),
                closed_at=None))
            uow.session.flush()
            time.sleep(1)  # the worker polls meanwhile: the job is not visible to it
        committed = credit.hold(700)
        until(lambda: len(receiver.acknowledged()) >= 1, 30, "the committed event")
        time.sleep(1.5)
    finally:
        worker.stop()
        receiver.close()
    assert [r.payload["data"]["authorization_id"] for r in receiver.requests] == \
        [committed["authorization_id"]]


def test_the_worker_runs_the_periodic_jobs_whose_changes_are_delivered_too(
        app: Any, credit: Credit, config: dict[str, Any], tmp_path: Path) -> None:
    """A hold placed at the test's frozen T0 is long past its expiry on the worker's real
    clock: the worker's periodic `medical_credit.expire_holds` releases it (deferred by the
    worker's periodic deferrer on start), and the partner hears `hold.expired`."""
    receiver = Receiver()
    _register(credit, receiver)
    held = credit.hold(900)
    worker = WorkerProcess(config, tmp_path / "w1", "--queue", "webhooks", "--queue", "jobs")
    worker.start()
    try:
        until(lambda: len(receiver.acknowledged()) >= 2, 60, "hold.placed and hold.expired")
    finally:
        worker.stop()
        receiver.close()
    assert [(r.payload["type"], r.payload["data"]["authorization_id"])
            for r in receiver.acknowledged()] == [("hold.placed", held["authorization_id"]),
                                                  ("hold.expired", held["authorization_id"])]


def test_two_workers_share_the_queue_and_send_each_event_once_in_order(
        app: Any, credit: Credit, config: dict[str, Any], tmp_path: Path) -> None:
    """Workers on several machines need no coordination but the database's: each delivery is
    taken by one of them (SKIP LOCKED), and one hold's events still go one after another."""
    receiver = Receiver()
    _register(credit, receiver)
    for _ in range(2):
        _activity(credit)
    expected = _expected(app)
    workers = [WorkerProcess(config, tmp_path / f"w{i}").start() for i in (1, 2)]
    try:
        until(lambda: len(receiver.requests) >= 20, 60, "every event sent")
        time.sleep(1)
    finally:
        for worker in workers:
            worker.stop()
        receiver.close()
    ids = [r.msg_id for r in receiver.requests]
    assert sorted(ids) == sorted(m for events in expected.values() for m, _ in events)
    _in_order_per_resource(receiver, expected)
