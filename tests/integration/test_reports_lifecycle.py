"""Reports against the real database: purge job, erasure, edited rows, rights, constraints."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.crypto import DataKey
from core.identity import Person, create_resident
from core.idnumber import mask
from core.jobs import JobContext
from reports import build, rights, services, verify
from reports.jobs import purge_reports
from reports.models import Report
from rewards.access import record_access
from tests.support.factories import id_number


@pytest.fixture
def ctx(app, uow):
    from app.runtime import runtime

    resident = create_resident(uow.session, runtime().keyring, Person("周敏", id_number(41), None),
                               now=runtime().clock.now())
    uow.commit()
    issuing = services.Issuing(keyring=runtime().keyring, signer=runtime().signer,
                              issuer="https://pengcheng.example",
                              verify_base="https://pengcheng.example/reports/verify", days=30)
    checking = verify.Checking(keyring=runtime().keyring, signer=runtime().signer)
    return {"resident": resident, "issuing": issuing, "checking": checking,
            "runtime": runtime()}


def _issue(uow, ctx, now, kind="no_violation"):
    wanted = build.parse_request(kind, sections=None if kind == "no_violation" else ["records"],
                                 categories=None, period=None, now=now)
    return services.generate(uow, ctx["resident"], wanted, issuing=ctx["issuing"], now=now)


def _job(ctx, now):
    return purge_reports(JobContext(uow=ctx["runtime"].uow, now=now))


def test_the_purge_job_drops_documents_but_verifiers_still_hear_expired(uow, ctx, clock):
    issued = _issue(uow, ctx, clock.now())
    assert _job(ctx, clock.now() + timedelta(days=59))["documents_deleted"] == 0

    later = clock.now() + timedelta(days=61)
    assert _job(ctx, later) == {"documents_deleted": 1, "rows_deleted": 0}
    assert _job(ctx, later) == {"documents_deleted": 0, "rows_deleted": 0}  # idempotent

    uow.session.expire_all()
    row = uow.session.get(Report, issued.report.id)
    assert row.document_ct is None and row.pdf_ct is None and row.purged_at == later
    answer = verify.by_code(uow, issued.code, checking=ctx["checking"], now=later)
    assert (answer.genuine, answer.expired, answer.content) == (True, True, None)

    gone = clock.now() + timedelta(days=30 + 366)
    assert _job(ctx, gone)["rows_deleted"] == 1
    final = verify.by_code(uow, issued.code, checking=ctx["checking"], now=gone)
    assert final.genuine is False and final.reason == "unknown_code"


def test_a_revoked_reports_document_is_purged_a_month_after_revocation(uow, ctx, clock):
    issued = _issue(uow, ctx, clock.now())
    services.revoke(uow, ctx["resident"], issued.report.id, now=clock.now())

    assert _job(ctx, clock.now() + timedelta(days=31))["documents_deleted"] == 1


def test_a_document_swapped_in_the_database_is_not_genuine(uow, ctx, clock):
    first = _issue(uow, ctx, clock.now())
    second = _issue(uow, ctx, clock.now())
    row = uow.session.get(Report, first.report.id)
    row.document_ct = uow.session.get(Report, second.report.id).document_ct
    uow.commit()

    answer = verify.by_code(uow, first.code, checking=ctx["checking"], now=clock.now())

    assert answer.genuine is False and answer.content is None


def test_after_the_data_key_is_destroyed_a_report_is_no_longer_genuine(uow, ctx, clock):
    issued = _issue(uow, ctx, clock.now(), kind="credit_report")
    key = uow.session.get(DataKey, ctx["resident"].data_key_id)
    ctx["runtime"].keyring.destroy(key, clock.now())
    uow.commit()

    answer = verify.by_code(uow, issued.code, checking=ctx["checking"], now=clock.now())

    assert answer.genuine is False and answer.reason == "unavailable" and answer.content is None
    kept = rights.retention(uow.session, ctx["resident"].id, clock.now())
    assert len(kept) == 1 and kept[0]["why_zh"] and kept[0]["why_en"]
    assert kept[0]["until"] > "2027-12"


def test_the_export_lists_reports_and_how_often_each_was_verified(uow, ctx, clock):
    issued = _issue(uow, ctx, clock.now())
    for _ in range(2):
        verify.by_code(uow, issued.code, checking=ctx["checking"], now=clock.now())
    services.revoke(uow, ctx["resident"], issued.report.id, now=clock.now())

    section = rights.export_section(uow.session, ctx["resident"].id)

    assert section["reports"] == [{
        "report_id": str(issued.report.id), "kind": "no_violation",
        "sections": ["no_violation"], "options": issued.report.options,
        "issued_at": "2026-11-01T08:00:00Z", "expires_at": "2026-12-01T08:00:00Z",
        "revoked_at": "2026-11-01T08:00:00Z", "document_deleted_at": None,
        "verifications": 2}]
    assert rights.export_section(uow.session, uuid.uuid4()) == {"reports": []}
    assert rights.retention(uow.session, uuid.uuid4(), clock.now()) == []


def test_the_signed_document_names_the_resident_with_a_masked_id_number(uow, ctx, clock):
    issued = _issue(uow, ctx, clock.now())

    assert issued.payload["content"]["subject"] == {"name": "周敏",
                                                    "id_number": mask(id_number(41))}
    stored = uow.session.scalars(select(Report)).one()
    assert id_number(41).encode() not in (stored.document_ct or b"")
    assert issued.code not in stored.code_hash


def test_the_database_refuses_unknown_kinds_and_access_log_actors(uow, ctx, clock):
    record_access(uow.session, resident_id=ctx["resident"].id, actor_kind="public",
                  actor_id="verify:api", actor_name="x", action="report_verify",
                  outcome="genuine", now=clock.now())
    uow.commit()
    with pytest.raises(IntegrityError):
        record_access(uow.session, resident_id=ctx["resident"].id, actor_kind="stranger",
                      actor_id="x", actor_name="x", action="report_verify", outcome="x",
                      now=clock.now())
        uow.session.flush()
    uow.session.rollback()
    issued = _issue(uow, ctx, clock.now())
    row = uow.session.get(Report, issued.report.id)
    row.kind = "payslip"
    with pytest.raises(IntegrityError):
        uow.commit()
