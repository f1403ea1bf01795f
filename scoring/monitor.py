"""Monitoring the scores actually served (结果验证机制 on real data; no outcome labels needed).

`drift` takes the latest stored score of every active resident now and as of a baseline instant
(scores are append-only history, so any past day can be read back) and reports:

* the PSI of now against the baseline over the standard score bands, with the usual reading:
  below 0.1 stable, 0.1–0.25 worth a look, above 0.25 shifted;
* today's distribution by district and by age band (from the coarse birth year kept for this).

A group smaller than `min_group` residents is reported with its count only: the statistics of a
district of three would show three people's scores.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity import Resident
from scoring.services import LATEST_FIRST, active_model
from scoring.store import Score
from scoring.validation import band_of_age, distribution_by_group, psi

UNKNOWN = "unknown"


def latest_as_of(session: Session, at: datetime) -> list[Any]:
    """(score, district, birth_year) of each active resident's latest score computed by `at`."""
    rank = func.row_number().over(partition_by=Score.resident_id, order_by=LATEST_FIRST)
    ranked = (select(Score.resident_id, Score.score, rank.label("rank"))
              .where(Score.computed_at <= at).subquery())
    return list(session.execute(
        select(ranked.c.score, Resident.district, Resident.birth_year)
        .join(Resident, Resident.id == ranked.c.resident_id)
        .where(ranked.c.rank == 1, Resident.status == "active")))


def age_band_of(birth_year: int | None, year: int) -> str:
    """The age band a resident born in `birth_year` is in during `year` (birth year only)."""
    return UNKNOWN if birth_year is None else band_of_age(year - birth_year)


def _reading(value: float) -> str:
    return "stable" if value < 0.1 else "watch" if value <= 0.25 else "shifted"


def _groups(scores: np.ndarray, labels: list[str], tiers: list[tuple[str, int]],
            min_group: int) -> list[dict[str, Any]]:
    if not len(scores):
        return []
    rows = distribution_by_group(scores, labels, tiers)
    return [row if row["count"] >= min_group
            else {"group": row["group"], "count": row["count"], "suppressed": True}
            for row in rows]


def drift(session: Session, *, now: datetime, baseline: datetime,
          min_group: int = 10) -> dict[str, Any]:
    """PSI of the scores served now against `baseline`, and today's distributions."""
    current, before = latest_as_of(session, now), latest_as_of(session, baseline)
    scores = np.array([r.score for r in current], dtype=np.float64)
    previous = np.array([r.score for r in before], dtype=np.float64)
    tiers = [(t.code, t.min) for t in active_model(session).tiers]
    value = psi(previous, scores) if len(scores) and len(previous) else None
    return {
        "as_of": now.isoformat(), "baseline": baseline.isoformat(),
        "residents": int(len(scores)), "baseline_residents": int(len(previous)),
        "psi": None if value is None else round(value, 4),
        "reading": None if value is None else _reading(value),
        "by_district": _groups(scores, [r.district or UNKNOWN for r in current], tiers,
                               min_group),
        "by_age_band": _groups(scores, [age_band_of(r.birth_year, now.year) for r in current],
                               tiers, min_group),
    }
