"""Concurrent writers on PostgreSQL: nothing stored twice, the audit chain stays linear."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core import audit
from core.records import Record, ingest
from tests.support.factories import id_number, new_source


@pytest.mark.services
def test_two_threads_ingesting_the_same_batch_store_each_record_once(app, pg_url):
    source, _key = new_source(app, ["utilities"])
    batch = [{"source_record_id": f"c{i}", "id_number": id_number(i % 50),
              "category": "utilities", "type": "payment_on_time",
              "occurred_at": "2026-10-01T00:00:00Z", "amount_fen": i} for i in range(500)]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker() -> None:
        try:
            with app.app_context(), runtime().uow() as uow:
                barrier.wait(timeout=30)
                results.append(ingest(uow, runtime().keyring, source_id=source.id,
                                      source_client_id=source.client_id,
                                      granted=source.categories, records=batch,
                                      now=runtime().clock.now()))
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(r.accepted for r in results) == 500
    assert sum(r.duplicates for r in results) == 3 * 500
    with app.app_context(), runtime().uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Record)) == 500
        assert audit.verify(uow.session, runtime().signer, runtime().clock.now()).ok
