"""Monitoring the scores actually served (结果验证机制 on real data), and the stored baselines.

`drift` takes the latest stored score of every active resident now and as of an instant N days
ago (scores are append-only history, so any past day can be read back) and reports:

* the PSI of now against N days ago, and against the *stored baseline* of the active model —
  the distribution the first monitoring run after its activation stored (`ScoreBaseline`,
  scope ``served:<model id>``) — over the standard score bands, with the usual reading: below
  0.1 stable, 0.1–0.25 worth a look, above 0.25 shifted;
* today's distribution by district (by name), age band (from the coarse birth year) and number
  of supplements added; the registry holds no sex, so there is no grouping by sex;
* the outcome metrics of the scores served N days ago, per group (`validation.group_metrics`):
  bad rate, AUC and calibration, where the outcome is an adverse record of 鹏城分's own scenarios
  (a 先诊后付 bill overdue, a waived deposit defaulted) that occurred after the score was served.

A group smaller than `min_group` residents is reported with its count only: the statistics of a
district of three would show three people's scores.

`ModelValidation` keeps each model's latest validation summary (`pengcheng model validate
--report`), which the public model card shows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import JSON, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base
from core.identity import Resident
from core.records import Record
from core.registry import CATEGORIES
from scoring.services import LATEST_FIRST, active_model
from scoring.store import Score
from scoring.validation import (
    DEFAULT_BANDS,
    auc,
    band_of_age,
    band_shares,
    departures,
    district_name,
    group_metrics,
    psi,
    psi_shares,
)

UNKNOWN = "unknown"
# The outcome: a record of a scenario kept badly (rewards.credit.jobs, rewards.waivers).
ADVERSE = ("scenario_performance", ("medical_credit_overdue", "deposit_defaulted"))
SUPPLEMENTS = frozenset(c for c, cat in CATEGORIES.items() if cat.role == "supplement")


class ScoreBaseline(Base):
    """A stored score distribution a PSI is measured against; stored once per scope."""

    __tablename__ = "score_baselines"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("score_models.id"))
    created_at: Mapped[datetime]
    residents: Mapped[int]
    bands: Mapped[list[Any]] = mapped_column(JSON)
    shares: Mapped[list[Any]] = mapped_column(JSON)


class ModelValidation(Base):
    """The summary of a model's latest validation report."""

    __tablename__ = "model_validations"

    model_id: Mapped[str] = mapped_column(ForeignKey("score_models.id"), primary_key=True)
    validated_at: Mapped[datetime]
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


def against_baseline(session: Session, scope: str, model_id: str, scores: np.ndarray, *,
                     now: datetime) -> dict[str, Any]:
    """PSI of `scores` against the baseline of `scope`; the first call stores `scores` as it
    (added, not committed). {scope, stored_at, residents, stored_now, psi, reading}."""
    row = session.get(ScoreBaseline, scope)
    stored_now = row is None
    if row is None:
        row = ScoreBaseline(scope=scope, model_id=model_id, created_at=now,
                            residents=int(len(scores)), bands=list(DEFAULT_BANDS),
                            shares=band_shares(scores))
        session.add(row)
        session.flush()
    value = round(psi_shares(row.shares, scores, row.bands), 4)
    return {"scope": scope, "model": row.model_id, "stored_at": row.created_at.isoformat(),
            "residents": row.residents, "stored_now": stored_now, "psi": value,
            "reading": reading(value)}


def store_validation(session: Session, model_id: str, summary: dict[str, Any], *,
                     now: datetime) -> None:
    """Keep `summary` as the model's latest validation (added, not committed)."""
    row = session.get(ModelValidation, model_id)
    if row is None:
        session.add(ModelValidation(model_id=model_id, validated_at=now, summary=summary))
    else:
        row.validated_at, row.summary = now, summary
    session.flush()


def latest_validation(session: Session, model_id: str) -> ModelValidation | None:
    return session.get(ModelValidation, model_id)


def latest_as_of(session: Session, at: datetime) -> list[Any]:
    """(resident_id, score, model_id, categories consented, district, birth_year) of each active
    resident's latest score computed by `at`."""
    rank = func.row_number().over(partition_by=Score.resident_id, order_by=LATEST_FIRST)
    ranked = (select(Score.resident_id, Score.score, Score.model_id,
                     Score.inputs["consented_categories"].label("categories"),
                     rank.label("rank"))
              .where(Score.computed_at <= at).subquery())
    return list(session.execute(
        select(ranked.c.resident_id, ranked.c.score, ranked.c.model_id, ranked.c.categories,
               Resident.district, Resident.birth_year)
        .join(Resident, Resident.id == ranked.c.resident_id)
        .where(ranked.c.rank == 1, Resident.status == "active")))


def adverse_since(session: Session, since: datetime, until: datetime) -> set[uuid.UUID]:
    """Residents with an adverse scenario record that occurred in (since, until]."""
    category, types = ADVERSE
    return set(session.scalars(select(Record.resident_id).distinct().where(
        Record.category == category, Record.type.in_(types),
        Record.occurred_at > since, Record.occurred_at <= until)))


def age_band_of(birth_year: int | None, year: int) -> str:
    """The age band a resident born in `birth_year` is in during `year` (birth year only)."""
    return UNKNOWN if birth_year is None else band_of_age(year - birth_year)


def supplement_count(categories: Any) -> str:
    """How many supplements a score's consented categories add, as a group label."""
    return str(len(SUPPLEMENTS & set(categories or ())))


def reading(value: float) -> str:
    return "stable" if value < 0.1 else "watch" if value <= 0.25 else "shifted"


def _groupings(rows: list[Any], year: int) -> dict[str, list[str]]:
    return {
        "district": [district_name(r.district) for r in rows],
        "age_band": [age_band_of(r.birth_year, year) for r in rows],
        "supplements": [supplement_count(r.categories) for r in rows],
    }


def _distributions(scores: np.ndarray, labels: list[str], tiers: list[tuple[str, int]],
                   min_group: int) -> list[dict[str, Any]]:
    if not len(scores):
        return []
    rows = group_metrics(scores, np.zeros(len(scores), dtype=bool), labels, tier_mins=tiers,
                         min_group=min_group)
    drop = ("bad_rate", "auc", "calibration", "calibration_gap")
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def labelled(session: Session, *, since: datetime, until: datetime
             ) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]] | None:
    """The scores served at `since`, whether each resident then had an adverse record in
    (since, until], and their groups; None while no outcome is observable (nobody scored
    then, or all or none of them bad)."""
    then = latest_as_of(session, since)
    bad_ids = adverse_since(session, since, until)
    bad = np.array([r.resident_id in bad_ids for r in then], dtype=bool)
    if not len(then) or bad.all() or not bad.any():
        return None
    return (np.array([r.score for r in then], dtype=np.float64), bad,
            _groupings(then, since.year))


def outcomes(session: Session, *, since: datetime, until: datetime,
             tiers: list[tuple[str, int]], min_group: int) -> dict[str, Any] | None:
    """Bad rate, AUC and calibration of the scores served at `since` against the adverse
    records of (since, until], overall and per group (`labelled`)."""
    found = labelled(session, since=since, until=until)
    if found is None:
        return None
    scores, bad, labels = found
    groups = {name: group_metrics(scores, bad, group, tier_mins=tiers, min_group=min_group)
              for name, group in labels.items()}
    whole = auc(scores, bad)
    return {"residents": int(len(scores)), "bad_rate": round(float(bad.mean()), 4),
            "auc": round(whole, 4), "groups": groups, "departures": departures(groups, whole)}


def drift(session: Session, *, now: datetime, baseline: datetime,
          min_group: int = 10) -> dict[str, Any]:
    """PSI of the scores served now against `baseline` and against the stored baseline,
    today's distributions, and the outcome metrics of the scores served at `baseline`."""
    model = active_model(session)
    current, before = latest_as_of(session, now), latest_as_of(session, baseline)
    scores = np.array([r.score for r in current], dtype=np.float64)
    previous = np.array([r.score for r in before], dtype=np.float64)
    tiers = [(t.code, t.min) for t in model.tiers]
    value = psi(previous, scores) if len(scores) and len(previous) else None
    mine = np.array([r.score for r in current if r.model_id == model.id], dtype=np.float64)
    groups = _groupings(current, now.year)
    return {
        "model": model.id, "as_of": now.isoformat(), "baseline": baseline.isoformat(),
        "residents": int(len(scores)), "baseline_residents": int(len(previous)),
        "psi": None if value is None else round(value, 4),
        "reading": None if value is None else reading(value),
        "stored_baseline": against_baseline(session, f"served:{model.id}", model.id, mine,
                                            now=now) if len(mine) else None,
        "by_district": _distributions(scores, groups["district"], tiers, min_group),
        "by_age_band": _distributions(scores, groups["age_band"], tiers, min_group),
        "by_supplements": _distributions(scores, groups["supplements"], tiers, min_group),
        "by_sex": None,  # the registry holds no sex (see the module docstring)
        "outcomes": outcomes(session, since=baseline, until=now, tiers=tiers,
                             min_group=min_group),
    }
