"""The chunk's records as one read (`scoring.batch_records.records_batch`): in the `ByType` order
whatever order the chunk names its residents in, each record on its resident's row, and a
record of a type the registry lacks refused rather than dropped or misfiled."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sqlalchemy import select

from app.runtime import runtime
from app.seed import seed
from core.records import Record
from scoring import batch_records
from scoring.features import RecordBatch, in_type_order
from tests.support.factories import T0


def _rows(chunk: RecordBatch, row: int) -> list[tuple[int, ...]]:
    mine = chunk.resident == row
    return sorted(zip(*(getattr(chunk, f)[mine].tolist() for f in RecordBatch.__dataclass_fields__
                        if f != "resident"), strict=True))


def test_each_residents_records_land_on_their_row_whatever_the_chunks_order(app, uow):
    seed(runtime().uow, runtime().keyring, residents=12, rng_seed=5, now=T0)
    session = uow.session
    ids = list(session.scalars(select(Record.resident_id).where(
        Record.resident_id.is_not(None)).distinct()))
    assert len(ids) >= 8
    by_id = batch_records.records_batch(session, sorted(ids))
    shuffled = [ids[i] for i in np.random.default_rng(3).permutation(len(ids))]
    mixed = batch_records.records_batch(session, shuffled)
    assert in_type_order(by_id) and in_type_order(mixed) and len(by_id) == len(mixed) > 0
    assert len(set(np.unique(by_id.type).tolist())) > 3  # several types, so a real reorder
    for row, rid in enumerate(shuffled):
        assert _rows(mixed, row) == _rows(by_id, sorted(ids).index(rid))
    alone = batch_records.records_batch(session, shuffled[:1])
    assert _rows(alone, 0) == _rows(mixed, 0)
    assert len(batch_records.records_batch(session, [uuid.uuid4()])) == 0  # nobody's: empty


def test_a_record_of_an_unregistered_type_is_refused(app, uow):
    seed(runtime().uow, runtime().keyring, residents=3, rng_seed=6, now=T0)
    session = uow.session
    record = session.scalars(select(Record).where(Record.resident_id.is_not(None))
                             .order_by(Record.id).limit(1)).one()
    record.type = "late_night_snacks"
    session.flush()
    with pytest.raises(ValueError, match="unregistered"):
        batch_records.records_batch(session, [record.resident_id])
    record.type, record.category = "arrears", "traffic"  # a registered type, the wrong category
    session.flush()
    with pytest.raises(ValueError, match="unregistered"):
        batch_records.records_batch(session, [record.resident_id])


def test_the_records_query_is_planned_for_each_chunk_never_prepared(app, uow):
    """psycopg prepares a statement the sixth time a connection runs it; prepared, PostgreSQL
    would soon plan the records query once for any array of residents (a sort on disk of a
    whole chunk's records instead of a hash by type). However often a chunk is read on one
    connection, the query is never among the connection's prepared statements."""
    seed(runtime().uow, runtime().keyring, residents=3, rng_seed=7, now=T0)
    session = uow.session
    ids = list(session.scalars(select(Record.resident_id).where(
        Record.resident_id.is_not(None)).distinct()))
    for _ in range(8):
        assert len(batch_records.records_batch(session, ids)) > 0
    prepared = session.connection().exec_driver_sql(
        "SELECT statement FROM pg_prepared_statements").scalars().all()
    assert not [s for s in prepared if "string_agg" in s], prepared
