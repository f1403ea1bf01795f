"""The batch's records of disputed records: a record under an open dispute counts until the
dispute's deadline whether or not it stores a publicity end or a severity, as the single path's
records say (`scoring.services.records_of` + `batch_from_records`)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.runtime import runtime
from app.seed import seed
from core.records import Record
from rights.models import Dispute
from scoring import batch_records
from scoring.features import batch_from_records, in_type_order
from scoring.services import records_of
from tests.support.factories import T0

FIELDS = ("type", "category", "occurred_at", "amount_fen", "quantity", "severity",
          "publicity_ends_at")


def test_disputed_records_reach_the_batch_as_the_single_path_reads_them(app, uow):
    seed(runtime().uow, runtime().keyring, residents=6, rng_seed=9, now=T0)
    session = uow.session
    records = list(session.scalars(select(Record).where(Record.severity.is_not(None))
                                   .order_by(Record.id).limit(8)))
    assert len(records) == 8
    for i, rec in enumerate(records):
        rec.status = "disputed"
        if i % 2 == 0:
            rec.publicity_ends_at = None  # the deadline stands in for it
        if i % 4 == 0:
            rec.severity = None  # the type's default applies, or none
        if i < 6:  # the last two have no open dispute: they do not count at all
            # deadlines before and after the end the record would otherwise have
            due = rec.occurred_at + timedelta(days=1 + i) if i % 3 else T0 + timedelta(days=9)
            session.add(Dispute(id=uuid.uuid4(), resident_id=rec.resident_id,
                                record_id=rec.id, status="open", opened_at=T0, due_at=due))
    uow.commit()
    ids = sorted({r.resident_id for r in records if r.resident_id is not None})
    chunk = batch_records.records_batch(session, ids)
    assert in_type_order(chunk)
    for row, rid in enumerate(ids):
        counted = [r for r in records_of(session, [rid]) if r["status"] == "active"
                   or (r["status"] == "disputed" and r["counts_until"] is not None)]
        one = batch_from_records(counted)
        mine = chunk.resident == row
        for field in FIELDS:
            assert sorted(getattr(chunk, field)[mine].tolist()) == sorted(
                getattr(one, field).tolist()), field
