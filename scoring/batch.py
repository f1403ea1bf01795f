"""The batch path: score every resident of a partition from the database, chunk by chunk.

Design overview
---------------
* **Pages.** Each chunk is handled in its own unit of work, which first reads the next page of
  ``(id, score_version)`` of the partition's active residents (by id, after the last page's
  last id), so memory is bounded by the chunk size whatever the population, and no transaction
  stays open for the whole run.
* **Chunk.** The chunk's unit of work then makes a constant number of queries: the scoring
  consents of the whole chunk (`consent.gate.scoring_categories_many`: the gate's rule,
  `pc_consent_valid`, in one scan), the latest stored score of each resident (``DISTINCT ON``;
  only the part of its inputs `is_current` reads) and the records of the residents whose score
  is not current (`scoring.batch_records`: active records only, grouped by type as the database
  aggregates them). What depends on a resident's consent list (scope, mask row) is worked out
  once per distinct list: residents share a handful. The records become one columnar `ByType`
  batch and go through the same `compute_features` and the vectorized `score_batch` as
  everything else (grouped by type, features need no sort to find a type's records; the results
  are those of the same records sorted by resident).
* **Write.** New scores are written in bulk with one ``COPY`` whose text is built a chunk at a
  time (`scoring.batch_rows`): the inputs (`stored_inputs_many`:
  `scoring.explain.stored_inputs`' text and hash, one column at a time), score, tier and
  ``valid_until``, no explanation (the read path renders it from the inputs:
  `scoring.services`); one commit per chunk, whatever the partition's size (``CHUNK``
  residents by default), so a crash loses at most the chunk in flight and a re-run scores the
  rest.
* **Idempotent.** A resident whose latest score is current (`scoring.services.is_current`: same
  basis version, model and consented categories, and before its `valid_until` — the read
  path's rule) is skipped, so
  re-running a partition writes nothing new. The version is read with the page, before the
  records: a record arriving meanwhile leaves the new score stale, never wrong.
* **Partitions.** Resident ``r`` is in partition ``k/n`` when ``partition_of(r.id, n) == k``:
  the last 32 bits of the UUID (random in a UUID4) modulo ``n``, computed by the database on
  PostgreSQL, so ``n`` processes on any scheduler share the residents out without overlap.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Text,
    any_,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from consent.gate import scoring_categories_many
from core.db import UnitOfWork, uuid_array
from core.identity import Resident
from scoring.batch_records import records_batch
from scoring.batch_rows import stored_inputs_many, write_scores
from scoring.engine import score_batch
from scoring.features import compute_features, consent_row, next_change, scoring_scope
from scoring.services import LATEST_FIRST, active_model, is_current
from scoring.spec import Model
from scoring.store import Score

CHUNK = 1000  # residents per transaction: a crash loses at most this much work


@dataclass
class BatchReport:
    seen: int = 0
    scored: int = 0
    skipped_current: int = 0
    no_consent: int = 0
    records: int = 0
    started: float = field(default_factory=time.monotonic, repr=False)

    def as_dict(self) -> dict[str, int | float]:
        elapsed = time.monotonic() - self.started
        return {"seen": self.seen, "scored": self.scored, "skipped_current": self.skipped_current,
                "no_consent": self.no_consent, "records": self.records,
                "seconds": round(elapsed, 2),
                "residents_per_s": round(self.seen / elapsed) if elapsed > 0 else 0}


def parse_partition(text: str) -> tuple[int, int]:
    """``"k/n"`` → (k, n), with 0 <= k < n."""
    k, _, n = text.partition("/")
    part, total = int(k), int(n or 1)
    if total < 1 or not 0 <= part < total:
        raise ValueError("partition must be k/n with 0 <= k < n")
    return part, total


def partition_of(resident_id: uuid.UUID, n: int) -> int:
    """The partition (0 … n-1) of a resident: the id's last 32 bits modulo n."""
    return (resident_id.int & 0xFFFF_FFFF) % n


def run(new_uow: Callable[[], UnitOfWork], *, now: datetime,
        partition: tuple[int, int] = (0, 1), chunk: int = CHUNK,
        progress: Callable[[BatchReport], None] | None = None) -> BatchReport:
    """Score every active resident of partition k/n whose stored score is not current.

    A batch: `new_uow` opens one unit of work to read the active model, then one per chunk of
    `chunk` residents (the next page by id, scored and committed).
    """
    report = BatchReport()
    with new_uow() as uow:
        model = active_model(uow.session)
    after: uuid.UUID | None = None
    while True:
        with new_uow() as uow:
            page = _page(uow.session, partition, after=after, limit=chunk)
            if not page:
                break
            _score_chunk(uow.session, model, page, now, report)
            uow.commit()
        after = page[-1][0]
        if progress:
            progress(report)
    return report


def _page(session: Session, partition: tuple[int, int], *, after: uuid.UUID | None,
          limit: int) -> list[tuple[uuid.UUID, int]]:
    """The next `limit` active residents of the partition by id, with their score versions."""
    k, n = partition
    stmt = (select(Resident.id, Resident.score_version).where(Resident.status == "active")
            .order_by(Resident.id).limit(limit))
    if after is not None:
        stmt = stmt.where(Resident.id > after)
    if n > 1:
        low32: ColumnElement[int] = literal_column(
            "('x' || right(residents.id::text, 8))::bit(32)::bigint")
        stmt = stmt.where(low32 % n == k)
    return [(rid, version) for rid, version in session.connection().execute(stmt).all()]


def _score_chunk(session: Session, model: Model, page: Sequence[tuple[uuid.UUID, int]],
                 now: datetime, report: BatchReport) -> None:
    report.seen += len(page)
    # residents share a few consent lists: each one's scope, its mask row and whether the model
    # reads any of it are worked out once per distinct list, not once per resident
    scopes: dict[frozenset[str], tuple[frozenset[str], int]] = {}
    rows: list[np.ndarray] = []
    read = set(model.category_codes)
    eligible: list[tuple[uuid.UUID, int, frozenset[str], int]] = []
    consents = scoring_categories_many(session, [rid for rid, _ in page], now)
    for rid, version in page:
        chosen = consents.get(rid)
        if chosen is None:
            continue
        if chosen not in scopes:
            scope = scoring_scope(chosen)
            scopes[chosen] = (scope, len(rows) if scope & read else -1)
            if scope & read:
                rows.append(consent_row(scope))
        scope, row = scopes[chosen]
        if row >= 0:
            eligible.append((rid, version, scope, row))
    report.no_consent += len(page) - len(eligible)
    stored = latest_many(session, [e[0] for e in eligible], basis_only=True)
    todo = [e for e in eligible if e[0] not in stored
            or not is_current(stored[e[0]], _Version(e[1]), model, e[2], now)]
    report.skipped_current += len(eligible) - len(todo)
    if not todo:
        return
    batch = records_batch(session, [rid for rid, _, _, _ in todo])
    report.records += len(batch)
    mask = np.vstack(rows)[np.array([row for _, _, _, row in todo], dtype=np.intp)]
    as_of = int(now.timestamp())
    x = compute_features(model, batch, mask, as_of)
    scores = score_batch(model, x).scores.tolist()
    inputs, digests = stored_inputs_many(model, x, [scope for _, _, scope, _ in todo], as_of)
    write_scores(session, model, now, [(rid, v, scope) for rid, v, scope, _ in todo], scores,
                 inputs, digests, next_change(model, batch, mask, as_of))
    report.scored += len(todo)


@dataclass(frozen=True)
class _Version:
    score_version: int


# -- chunk-level reads and writes ------------------------------------------------------------

def latest_many(session: Session, resident_ids: Sequence[uuid.UUID], *,
                basis_only: bool = False) -> dict[uuid.UUID, Any]:
    """The latest stored score (basis_version, model_id, inputs, valid_until) of each resident,
    one query (the ids as one array: 5,000 bound parameters cost the driver more than the query).

    "Latest" is `scoring.services.LATEST_FIRST`, the single path's order. With `basis_only`
    the inputs are only what `is_current` reads of them (`CURRENT_BASIS`), built by the
    database as text and decoded once per distinct text: residents share a few (a model and
    a handful of consent lists), and decoding every row's was most of a re-run's CPU. Run on
    the session's connection, not through the ORM (these are plain rows, not entities).
    """
    if not resident_ids:
        return {}
    what = CURRENT_BASIS if basis_only else Score.inputs
    cols = (Score.resident_id, Score.basis_version, Score.model_id, what.label("inputs"),
            Score.valid_until)
    which = Score.resident_id == any_(uuid_array(resident_ids))
    stmt = (select(*cols).where(which).ext(distinct_on(Score.resident_id))
            .order_by(Score.resident_id, *LATEST_FIRST))
    rows = session.connection().execute(stmt).all()  # one fetch, not one per row
    if not basis_only:
        return {row.resident_id: row for row in rows}
    decoded: dict[str, dict[str, Any]] = {}
    found: dict[uuid.UUID, Any] = {}
    for rid, version, model_id, text, until in rows:
        if text not in decoded:
            decoded[text] = json.loads(text)
        found[rid] = _Basis(version, model_id, decoded[text], until)
    return found


class _Basis(NamedTuple):
    """A stored score as `is_current` reads it (the inputs shared by the rows that agree)."""

    basis_version: int
    model_id: str
    inputs: dict[str, Any]
    valid_until: datetime | None


# The parts of a score's inputs `scoring.services.is_current` reads, as text: decoding the
# whole inputs (the feature vector) of every stored score was most of a re-run's CPU.
CURRENT_BASIS: ColumnElement[Any] = cast(func.json_build_object(
    "model_hash", Score.inputs["model_hash"],
    "consented_categories", func.coalesce(Score.inputs["consented_categories"],
                                          literal_column("'[]'::json"))), Text())
