"""The auditor's consent export as a use case: audited, access-logged, committed once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.runtime import runtime
from consent.notices import current
from consent.services import Signing, export_for_auditor, grant
from core.audit import AuditEntry
from core.identity import Operator, Person, Resident, create_operator, create_resident
from rewards.access import entries
from tests.support.factories import T0, id_number

pytestmark = pytest.mark.services


def _arrange(app: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """A resident who consented to scoring, and an auditor (both committed)."""
    with app.app_context(), runtime().uow() as uow:
        resident = create_resident(uow.session, runtime().keyring,
                                   Person("张三", id_number(1), None), now=T0)
        operator, _ = create_operator(uow.session, name="auditor", role="auditor", now=T0)
        uow.commit()
        ids = resident.id, operator.id
    with app.app_context(), runtime().uow() as uow:
        grant(uow, uow.session.get(Resident, ids[0]), current(uow.session, "scoring").id,
              now=T0, signing=Signing(runtime().signer), categories=["tax"])
    return ids


def _export(app: Any, operator_id: uuid.UUID, **kwargs: Any) -> Any:
    with app.app_context(), runtime().uow() as uow:
        operator = uow.session.get(Operator, operator_id)
        return export_for_auditor(uow, operator, now=T0, **kwargs)


def test_one_residents_export_is_audited_and_in_their_access_log(app):
    resident_id, operator_id = _arrange(app)
    found = _export(app, operator_id, format="json", resident_id=resident_id)
    assert found.csv is None and found.document is not None
    assert [e["event"] for e in found.document["events"]] == ["given"]
    with app.app_context(), runtime().uow() as uow:
        [entry] = entries(uow.session, resident_id)
        assert (entry.action, entry.actor_kind) == ("consent_history_read", "operator")
        audited = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "consent.exported")).one()
        assert (audited.subject, audited.data) == (str(resident_id), {"format": "json"})


def test_everyones_export_as_csv_names_its_file_and_logs_no_ones_access(app):
    resident_id, operator_id = _arrange(app)
    found = _export(app, operator_id, format="csv")
    assert found.filename == "consents-all.csv" and found.document is None
    header, given, end = found.csv.split("\n")
    assert header.startswith("seq,event_id,consent_id") and ",given," in given and end == ""
    with app.app_context(), runtime().uow() as uow:
        assert entries(uow.session, resident_id) == []
        assert uow.session.scalars(select(AuditEntry.subject).where(
            AuditEntry.action == "consent.exported")).all() == ["all"]
