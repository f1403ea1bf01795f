"""Consent invariants that PostgreSQL itself guarantees."""

import threading
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.runtime import runtime
from consent.models import ConsentEvent, ConsentRecord
from consent.notices import current
from consent.services import Signing, grant
from core.identity import Resident
from tests.factories import bearer, login

pytestmark = pytest.mark.services


def test_concurrent_identical_grants_create_one_record(pg_url, app, client, idp):
    token = login(client, idp, 1)
    rid = uuid.UUID(client.get("/api/v1/me", headers=bearer(token)).get_json()["id"])
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


def test_the_database_refuses_a_second_active_consent_and_edits_to_events(pg_url, app, client,
                                                                          idp):
    token = login(client, idp, 1)
    client.post("/api/v1/me/consents", headers=bearer(token), json={
        "notice_id": client.get("/api/v1/notices?purpose=scoring").get_json()[0]["id"],
        "categories": ["tax"]})
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
