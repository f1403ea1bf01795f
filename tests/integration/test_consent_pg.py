"""Consent invariants that PostgreSQL itself guarantees (use cases called directly)."""

import threading
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.runtime import runtime
from consent.models import ConsentEvent, ConsentRecord
from consent.notices import current
from consent.services import Signing, grant
from core.identity import Person, Resident, create_resident
from tests.support.factories import T0, id_number

pytestmark = pytest.mark.services


def _resident(app) -> uuid.UUID:
    """A committed resident (the tests' threads each open their own unit of work)."""
    with app.app_context(), runtime().uow() as uow:
        resident = create_resident(uow.session, runtime().keyring,
                                   Person("张三", id_number(1), None), now=T0)
        uow.commit()
        return resident.id


def test_concurrent_identical_grants_create_one_record(pg_url, app):
    rid = _resident(app)
    with app.app_context(), runtime().uow() as uow:
        notice_id = current(uow.session, "scoring").id
    start, results, errors = threading.Barrier(8), [], []

    def one() -> None:
        try:
            with app.app_context(), runtime().uow() as uow:
                resident = uow.session.get(Resident, rid)
                start.wait()
                outcome = grant(uow, resident, notice_id, now=runtime().clock.now(),
                                signing=Signing(runtime().signer), categories=["tax"])
                results.append(outcome.record.id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(results)) == 1
    with app.app_context(), runtime().uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ConsentRecord)) == 1
        assert uow.session.scalar(select(func.count()).select_from(ConsentEvent)) == 1


def test_the_database_refuses_a_second_active_consent_and_edits_to_events(pg_url, app):
    rid = _resident(app)
    with app.app_context(), runtime().uow() as uow:
        grant(uow, uow.session.get(Resident, rid), current(uow.session, "scoring").id,
              now=runtime().clock.now(), signing=Signing(runtime().signer), categories=["tax"])
    with app.app_context(), runtime().uow() as uow:
        record = uow.session.scalars(select(ConsentRecord)).one()
        duplicate = ConsentRecord(
            id=uuid.uuid4(), resident_id=record.resident_id, purpose="scoring",
            notice_id=record.notice_id, categories=["tax"], separate_consent=False,
            status="active", given_at=record.given_at)
        uow.session.add(duplicate)
        with pytest.raises(IntegrityError):
            uow.session.flush()
    with app.app_context(), runtime().uow() as uow:
        with pytest.raises(DBAPIError):
            uow.session.execute(text("UPDATE consent_events SET event = 'withdrawn'"))
    with app.app_context(), runtime().uow() as uow:
        with pytest.raises(DBAPIError):
            uow.session.execute(text("DELETE FROM consent_notices"))
