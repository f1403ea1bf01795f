"""The batch path: score every resident of a partition from the database in chunks.

Residents stream by id (server-side cursor, bounded memory); each chunk's records come in one
query, become one columnar `RecordBatch`, go through the same `compute_features` as the single
path and the vectorized `score_batch`, and the new scores are written in bulk. A resident whose
stored score is already current is skipped, so re-running a partition writes nothing new.
Partitions are `int(resident_id) % n == k`, so any scheduler can fan `k/n` out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import insert, select

from consent.gate import scoring_categories
from core.db import UnitOfWork
from core.identity import Resident
from scoring.engine import score_batch, scored_row
from scoring.explain import canonical_inputs, explain
from scoring.features import RecordBatch, batch_from_records, compute_features, consent_row
from scoring.service import active_model, is_current, latest, records_of
from scoring.store import Score


@dataclass
class BatchReport:
    seen: int = 0
    scored: int = 0
    skipped_current: int = 0
    no_consent: int = 0


def concat(batches: list[RecordBatch]) -> RecordBatch:
    if not batches:
        return RecordBatch.empty()
    fields = RecordBatch.__dataclass_fields__
    return RecordBatch(**{f: np.concatenate([getattr(b, f) for b in batches]) for f in fields})


def parse_partition(text: str) -> tuple[int, int]:
    k, _, n = text.partition("/")
    part, total = int(k), int(n or 1)
    if total < 1 or not 0 <= part < total:
        raise ValueError("partition must be k/n with 0 <= k < n")
    return part, total


def run(uow_factory: Callable[[], UnitOfWork], *, now: datetime,
        partition: tuple[int, int] = (0, 1), chunk: int = 2000,
        progress: Callable[[BatchReport], None] | None = None) -> BatchReport:
    """Score every active resident of partition k/n whose stored score is not current."""
    report = BatchReport()
    k, n = partition
    last: uuid.UUID | None = None
    while True:
        with uow_factory() as uow:
            session = uow.session
            stmt = select(Resident).where(Resident.status == "active").order_by(Resident.id)
            if last is not None:
                stmt = stmt.where(Resident.id > last)
            page = list(session.scalars(stmt.limit(chunk * n)))
            if not page:
                break
            last = page[-1].id
            mine = [r for r in page if r.id.int % n == k]
            _score_chunk(uow, mine, now, report)
            uow.commit()
        if progress:
            progress(report)
    return report


def _score_chunk(uow: UnitOfWork, residents: list[Resident], now: datetime,
                 report: BatchReport) -> None:
    session = uow.session
    model = active_model(session)
    todo: list[tuple[Resident, frozenset[str]]] = []
    for resident in residents:
        report.seen += 1
        categories = scoring_categories(session, resident.id, now)
        if categories is None or not set(categories) & set(model.category_codes):
            report.no_consent += 1
            continue
        if is_current(latest(session, resident.id), resident, model, categories):
            report.skipped_current += 1
            continue
        todo.append((resident, categories))
    if not todo:
        return
    index = {r.id: i for i, (r, _) in enumerate(todo)}
    by_resident: dict[uuid.UUID, list] = {}
    for rec in records_of(session, index):
        by_resident.setdefault(rec["resident_id"], []).append(rec)
    batch = concat([batch_from_records(by_resident.get(r.id, []), index[r.id])
                    for r, _ in todo])
    mask = np.vstack([consent_row(c) for _, c in todo])
    as_of = int(now.timestamp())
    x = compute_features(model, batch, mask, as_of)
    scores = score_batch(model, x)
    rows = []
    for i, (resident, categories) in enumerate(todo):
        values = x[i].tolist()
        explanation = explain(model, values, categories, as_of, scored=scored_row(scores, i))
        inputs = canonical_inputs(model, values, categories, as_of)
        rows.append({
            "id": uuid.uuid4(), "resident_id": resident.id, "model_id": model.id,
            "score": explanation["score"], "tier": explanation["tier"], "computed_at": now,
            "basis_version": resident.score_version, "inputs": inputs,
            "inputs_hash": explanation["inputs_hash"], "explanation": explanation,
            "trigger": "batch",
        })
    session.execute(insert(Score), rows)
    report.scored += len(rows)
