"""Many counters consume the same token at once on PostgreSQL: exactly one wins."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import services
from core.identity import Partner
from rewards.errors import TokenReplayed
from rewards.models import AccessEntry, ConsumedToken
from rewards.tokens import consume, context_of
from tests.api.test_tokens_support import World


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)

THREADS = 16


def race(app, partner_id, token) -> list[str]:
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def counter() -> None:
        with app.app_context(), services.uow() as uow:
            partner = uow.session.get(Partner, partner_id)
            barrier.wait()
            try:
                consume(uow, token, partner=partner, scenario="medical_credit",
                        now=services.clock.now())
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


def consumed(app) -> tuple[int, int]:
    with app.app_context(), services.uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(ConsumedToken)),
                uow.session.scalar(select(func.count()).select_from(AccessEntry).where(
                    AccessEntry.action == "consume")))


@pytest.mark.services
def test_concurrent_consumers_of_one_token_exactly_one_wins(pg_url, world, app):
    outcomes = race(app, world.hospital.id, world.token())
    assert sorted(outcomes) == ["replayed"] * (THREADS - 1) + ["won"]
    assert consumed(app) == (1, 1)


@pytest.mark.services
def test_without_the_fast_store_the_database_alone_lets_exactly_one_win(pg_url, world, app,
                                                                       monkeypatch):
    with app.app_context(), services.uow() as uow:
        store = context_of(uow.session).store
    monkeypatch.setattr(store, "add", lambda key, ttl: True)  # every pre-check says "first"
    outcomes = race(app, world.hospital.id, world.token())
    assert sorted(outcomes) == ["replayed"] * (THREADS - 1) + ["won"]
    assert consumed(app) == (1, 1)
