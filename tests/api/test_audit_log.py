"""The audit log as the HTTP flows write it: no personal data in plain text."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.runtime import runtime
from core.audit import AuditEntry
from tests.support.factories import id_number, login, new_source


def test_real_flows_leave_no_plaintext_in_the_log(app, client, idp):
    login(client, idp, 4, "孙八")
    _src, key = new_source(app, ["utilities"])
    client.post("/ingest/v1/records", headers={"Authorization": f"Bearer {key}"}, json={
        "records": [{"source_record_id": "1", "id_number": id_number(4), "category": "utilities",
                     "type": "payment_on_time", "occurred_at": "2026-10-01T00:00:00Z"}]})
    with app.app_context(), runtime().uow() as uow:
        dump = json.dumps([[e.actor, e.action, e.subject, e.data]
                           for e in uow.session.scalars(select(AuditEntry))], ensure_ascii=False)
    assert "records.ingested" in dump and "session.opened" in dump
    for plain in ("孙八", id_number(4), id_number(4)[6:14]):
        assert plain not in dump


