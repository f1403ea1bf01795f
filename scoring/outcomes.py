"""Labelled outcomes of real residents, for fitting a model (`pengcheng model fit --outcomes`).

An outcome file is CSV with a header and two columns, ``resident_id,bad``: ``bad`` is 1 when the
adverse outcome happened in the performance window (e.g. a 先诊后付 bill went overdue within a
year of the observation date), 0 otherwise. The features are those the batch path computes
(`scoring.batch_records.records_batch` + `scoring.features.compute_features`) from the
records as they stood at the observation date, over the categories each resident consents to
scoring today: a resident without a valid scoring consent, or no longer active, is left out —
their data is not used to fit a model either.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.gate import scoring_categories_many
from core.identity import Resident
from scoring.batch_records import records_batch
from scoring.features import compute_features, consent_row
from scoring.spec import Model

MAX_ROWS = 5_000_000


class OutcomesInvalid(ValueError):
    """The outcome file cannot be read; `problems` says where."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]))
        self.problems = problems


@dataclass(frozen=True)
class Labelled:
    x: np.ndarray  # residents × model features (NaN: category not consented)
    bad: np.ndarray  # 0/1 per row of x
    left_out: int  # unknown, inactive or without a scoring consent


def parse(text: str) -> dict[uuid.UUID, int]:
    """resident id -> 0/1 from the CSV text; every problem listed with its line."""
    rows = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(rows, [])]
    if header != ["resident_id", "bad"]:
        raise OutcomesInvalid(["line 1: the header must be resident_id,bad"])
    out: dict[uuid.UUID, int] = {}
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(out) >= MAX_ROWS:
            raise OutcomesInvalid([f"more than {MAX_ROWS} outcomes"])
        try:
            rid, bad = uuid.UUID(row[0].strip()), row[1].strip()
        except (ValueError, IndexError):
            problems.append(f"line {line}: not a resident id and a label")
            continue
        if bad not in ("0", "1"):
            problems.append(f"line {line}: bad must be 0 or 1")
        elif rid in out:
            problems.append(f"line {line}: resident {rid} appears twice")
        else:
            out[rid] = int(bad)
    if problems:
        raise OutcomesInvalid(problems)
    if len(set(out.values())) < 2:
        raise OutcomesInvalid(["a fit needs both outcomes: some 0s and some 1s"])
    return out


def labelled(session: Session, model: Model, outcomes: dict[uuid.UUID, int], *,
             observed_at: datetime, now: datetime) -> Labelled:
    """The feature matrix of the residents of `outcomes` who may be used, and their labels."""
    active = set(session.scalars(select(Resident.id).where(
        Resident.id.in_(list(outcomes)), Resident.status == "active")))
    consents = scoring_categories_many(session, list(active), now)
    ids = sorted(rid for rid in active if consents.get(rid))
    if ids:
        mask = np.vstack([consent_row(consents[rid]) for rid in ids])
        x = compute_features(model, records_batch(session, ids), mask,
                             int(observed_at.timestamp()))
    else:
        x = np.zeros((0, len(model.features)))
    bad = np.array([outcomes[rid] for rid in ids], dtype=np.float64)
    return Labelled(x=x, bad=bad, left_out=len(outcomes) - len(ids))
