"""Many counters consume the same token at once: exactly one wins, decided by PostgreSQL
(`pc_consume_token` in each caller's transaction; the `consumed_tokens` primary key)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core.identity import Partner
from rewards.errors import TokenReplayed, TokenRevoked
from rewards.models import AccessEntry, ConsumedToken
from rewards.tokens import consume
from tests.support.tokens import World


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)

THREADS = 16


def race(app, partner_id, token) -> list[str]:
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def counter() -> None:
        with app.app_context(), runtime().uow() as uow:
            partner = uow.session.get(Partner, partner_id)
            barrier.wait()
            try:
                consume(uow, token, partner=partner, scenario="medical_credit",
                        now=runtime().clock.now(), ctx=runtime().tokens)
                uow.commit()
                result = "won"
            except TokenReplayed:
                result = "replayed"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=counter) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def consume_once(app, partner_id, token) -> None:
    with app.app_context(), runtime().uow() as uow:
        consume(uow, token, partner=uow.session.get(Partner, partner_id),
                scenario="medical_credit", now=runtime().clock.now(), ctx=runtime().tokens)
        uow.commit()


def consumed(app) -> tuple[int, int]:
    with app.app_context(), runtime().uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(ConsumedToken)),
                uow.session.scalar(select(func.count()).select_from(AccessEntry).where(
                    AccessEntry.action == "consume")))


@pytest.mark.services
def test_concurrent_consumers_of_one_token_exactly_one_wins(pg_url, world, app):
    outcomes = race(app, world.hospital.id, world.token())
    assert sorted(outcomes) == ["replayed"] * (THREADS - 1) + ["won"]
    assert consumed(app) == (1, 1)


@pytest.mark.services
def test_a_consumer_racing_a_withdrawal_either_wins_first_or_is_refused(pg_url, world, app,
                                                                        client):
    """The withdrawal and the consumptions race: whatever the order, no token is consumed
    after its consent is gone, and every attempt has an answer."""
    from tests.support.tokens import withdraw

    token = world.token()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def counter() -> None:
        with app.app_context(), runtime().uow() as uow:
            partner = uow.session.get(Partner, world.hospital.id)
            barrier.wait()
            try:
                consume(uow, token, partner=partner, scenario="medical_credit",
                        now=runtime().clock.now(), ctx=runtime().tokens)
                uow.commit()
                outcomes.append("won")
            except TokenRevoked:
                outcomes.append("revoked")

    thread = threading.Thread(target=counter)
    thread.start()
    barrier.wait()
    withdraw(client, world.resident, world.consents["medical_credit"])
    thread.join(30)
    assert outcomes in (["won"], ["revoked"])
    assert consumed(app) == ((1, 1) if outcomes == ["won"] else (0, 0))
    with pytest.raises(TokenRevoked):  # and after the withdrawal, never again
        consume_once(app, world.hospital.id, token)
