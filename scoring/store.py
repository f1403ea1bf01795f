"""Persistence of models and scores.

Design overview
---------------
* `score_models` holds every model spec ever loaded, with its lifecycle
  draft -> validated -> active -> retired. A partial unique index makes "exactly one active
  model" a database guarantee, not only a Python check.
* `scores` is append-only history: each row stores the canonical inputs (feature vector,
  consented categories, model id and hash, as-of time), from which the score and its
  explanation are recomputed bit for bit (`pengcheng score --verify`). The batch stores the
  inputs only (``explanation`` NULL: it is rendered on read, `scoring.services`); a row that
  stores its explanation is checked against it. A row is current while its
  `basis_version` equals the resident's `score_version`, its model is the active one, and it
  is before its `valid_until`: the first instant at which time alone may change the score (a
  record's publicity ends, it leaves a feature's window, a "months since" steps; NULL: never).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

MODEL_STATES = ("draft", "validated", "active", "retired")


class ScoreModel(Base):
    __tablename__ = "score_models"
    __table_args__ = (
        CheckConstraint("status IN ('draft','validated','active','retired')", name="status"),
        Index("uq_score_models_one_active", "status", unique=True,
              postgresql_where=text("status = 'active'")),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]]
    spec_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    validated_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 1000", name="range"),
        Index("ix_scores_resident_computed", "resident_id", "computed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    model_id: Mapped[str] = mapped_column(ForeignKey("score_models.id"))
    score: Mapped[int]
    tier: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[datetime]
    basis_version: Mapped[int]
    inputs: Mapped[dict[str, Any]]
    inputs_hash: Mapped[str] = mapped_column(String(64))
    explanation: Mapped[dict[str, Any] | None]  # None: rendered from the inputs
    trigger: Mapped[str] = mapped_column(String(16))  # read | batch
    valid_until: Mapped[datetime | None]  # see the module docstring


# A resident's scores, latest first: by when computed, then by the data version behind them.
LATEST_FIRST = (Score.computed_at.desc(), Score.basis_version.desc())
