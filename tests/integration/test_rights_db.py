"""The database guarantees of the rights tables, and concurrent disputes of one record."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rights.disputes import open_dispute
from rights.errors import AlreadyDisputed
from rights.models import Dispute, Repair
from tests.support.disputes import arrange
from tests.support.factories import T0


def dispute_row(resident_id, record_id, **extra) -> Dispute:
    values = {"id": uuid.uuid4(), "resident_id": resident_id, "record_id": record_id,
              "reason": "不是我", "status": "open", "opened_at": T0,
              "due_at": T0 + timedelta(days=15)}
    values.update(extra)
    return Dispute(**values)


def test_the_database_refuses_a_second_open_dispute_on_one_record(app, uow):
    resident_id, record_id = arrange(app)
    uow.session.add(dispute_row(resident_id, record_id))
    uow.session.flush()
    uow.session.add(dispute_row(resident_id, record_id))
    with pytest.raises(IntegrityError):
        uow.session.flush()


def test_resolved_disputes_of_one_record_may_be_many(app, uow):
    resident_id, record_id = arrange(app)
    for _ in range(2):
        uow.session.add(dispute_row(resident_id, record_id, status="resolved",
                                    outcome="upheld", resolved_at=T0))
    uow.session.add(dispute_row(resident_id, record_id))
    uow.session.flush()


@pytest.mark.parametrize("bad", [{"status": "resolved"}, {"outcome": "upheld"},
                                 {"status": "resolved", "outcome": "forgotten"}])
def test_the_database_refuses_an_outcome_without_resolution_and_the_reverse(app, uow, bad):
    resident_id, record_id = arrange(app)
    uow.session.add(dispute_row(resident_id, record_id, **bad))
    with pytest.raises(IntegrityError):
        uow.session.flush()


def test_the_database_refuses_a_second_pending_repair_of_one_record(app, uow):
    resident_id, record_id = arrange(app)
    for _ in range(2):
        uow.session.add(Repair(id=uuid.uuid4(), resident_id=resident_id, record_id=record_id,
                               pledge_hash="0" * 64, status="pending", requested_at=T0))
    with pytest.raises(IntegrityError):
        uow.session.flush()


@pytest.mark.services
def test_concurrent_disputes_of_one_record_open_exactly_one(pg_url, app):
    from app.runtime import runtime
    from core.identity import Resident

    resident_id, record_id = arrange(app)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        with app.app_context(), runtime().uow() as unit:
            resident = unit.session.get(Resident, resident_id)
            barrier.wait()
            try:
                open_dispute(unit, resident, record_id=record_id, reason="并发", evidence=None,
                             now=T0, days=15)
                outcomes.append("opened")
            except AlreadyDisputed:
                outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["opened", "refused", "refused", "refused"]
    with app.app_context(), runtime().uow() as unit:
        assert unit.session.scalar(select(func.count()).select_from(Dispute)) == 1
