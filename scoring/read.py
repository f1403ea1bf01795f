"""The resident's score read in one round trip, for the common case (issue 26).

Design overview
---------------
* `GET /api/v1/me/score` needs the session's resident and its data version, the scoring
  consent's categories, the active model's reference, the latest stored score and the records
  under dispute. `current_read` asks for all of them in **one statement**, sent straight to
  the driver (`core.pgcall.fetch`: no session, no ORM). The statement is composed of the
  pieces the general path runs one by one, so each rule stays written once:
  `core.sessions.session_lookup` (and `live`), `consent.gate.valid_consent` (the SQL rule
  `pc_consent_since`), `scoring.services.active_model_ref` and `latest_of`, and
  `rights.disputes.open_marks`.
* It answers only when the stored score is what `scoring.services.fresh_score` would return
  without computing: the session is live, a scoring consent is valid, the model is parsed in
  this process, the row `is_current` and `scoring.integrity.derive` holds. The answer is then
  built by the same `explained` as `explained_score`'s.
* Anything else — no or a dead session, no consent, a stale or tampered score, a model not
  parsed yet — answers None, and the caller takes the general path (`auth.resident` and
  `explained_score`), which refuses, recomputes (and commits) or audits ``score.tampered``
  as it always has. Nothing is written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Select, bindparam, literal, null, true

from consent.gate import SCORING, valid_consent
from core import pgcall
from core.clock import utc
from core.db import UnitOfWork
from core.identity import Resident, hash_key
from core.sessions import live, session_lookup
from scoring import integrity
from scoring.features import scoring_scope
from scoring.services import (
    active_model_ref,
    explained,
    is_current,
    latest_of,
    parsed,
    view_of,
)
from scoring.spec import Model
from scoring.store import Score


@dataclass(frozen=True)
class Read:
    """A score read answered in one round trip: whose, under which model, and the answer
    (`explained_score`'s)."""

    resident_id: uuid.UUID
    model: Model
    answer: dict[str, Any]


@dataclass(frozen=True)
class _Stored:
    """The latest score row as the statement gives it (`integrity.StoredScore`)."""

    id: uuid.UUID
    model_id: str
    score: int
    tier: str
    computed_at: datetime
    basis_version: int
    inputs: dict[str, Any]
    inputs_hash: str
    explanation: dict[str, Any] | None
    valid_until: datetime | None


@dataclass(frozen=True)
class _Version:
    score_version: int


SCORE_COLUMNS = (Score.id, Score.model_id, Score.score, Score.tier, Score.computed_at,
                 Score.basis_version, Score.inputs, Score.inputs_hash, Score.explanation,
                 Score.valid_until)
# The same, the explanation read as NULL: for a decision that shows none (a token's issue,
# `rewards.entitlements`). `integrity.derive` then holds the row as it holds a batch row: the
# score and tier from the inputs, the inputs against their stored hash. The explanation (~6 KB
# of JSON, TOASTed) is neither fetched nor parsed; the score read, which shows it, checks it.
DECISION_COLUMNS = tuple(null().label("explanation") if c is Score.explanation else c
                         for c in SCORE_COLUMNS)


def _statement() -> Select[Any]:
    """Session, resident, consent, active model, latest score and open disputes: one row, or
    none for an unknown session token (bound: `h`, its hash, and `now`)."""
    from rights.disputes import open_marks  # rights imports scoring.services

    now = bindparam("now", type_=DateTime(timezone=True))
    consent = valid_consent(Resident.id, literal(SCORING), now).lateral("consent")
    model = active_model_ref().subquery("model")
    score = latest_of(Resident.id, *SCORE_COLUMNS).lateral("score")
    marks = open_marks(Resident.id).lateral("marks")
    return (session_lookup(Resident.id, Resident.score_version, consent.c.categories,
                           model.c.id, model.c.spec_hash, *score.c, *marks.c)
            .outerjoin_from(Resident, consent, true())
            .outerjoin(model, true())
            .outerjoin(score, true())
            .outerjoin(marks, true()))


def current_read(uow: UnitOfWork, token: str, *, now: datetime, lang: str) -> Read | None:
    """The score read of the session `token`'s resident in one round trip, when its stored
    score is current and holds; None when the general path must answer (see the module
    docstring)."""
    sql, fixed = pgcall.compiled("score_read", uow.bind.dialect, _statement)
    row = pgcall.fetch(uow, sql, {**fixed, "h": hash_key(token), "now": now})
    if row is None:
        return None
    (resident_id, score_version, categories, model_id, spec_hash, *rest) = row
    expires_at, revoked_at, status = rest[-3:]
    stored, arrays = rest[:len(SCORE_COLUMNS)], tuple(rest[len(SCORE_COLUMNS):-3])
    if not live(utc(expires_at), revoked_at, status, now):
        return None
    current = stored_current(score_version, categories, model_id, spec_hash, stored, now=now)
    if current is None:
        return None
    model, found, derived = current
    from rights.disputes import marks_of

    answer = explained(model, view_of(model, found, derived),
                       marks_of(arrays, now=now, lang=lang), lang)
    return Read(resident_id, model, answer)


def stored_current(score_version: int, categories: list[str] | None, model_id: str | None,
                   spec_hash: str | None, stored: Sequence[Any], *, now: datetime
                   ) -> tuple[Model, integrity.StoredScore, integrity.Derived] | None:
    """The latest score row, read as `SCORE_COLUMNS` (a token's issue: `DECISION_COLUMNS`)
    beside the resident's data version, the scoring consent's categories (None: no valid
    consent) and the active model's reference, with its derivation — when it is what
    `fresh_score` would return without computing; None when the general path must answer.
    (`current_read`'s test; token issue's too, `rewards.entitlements`.)"""
    if categories is None:
        return None
    model = None if spec_hash is None else parsed(spec_hash)
    if model is None or model.id != model_id or stored[0] is None:
        return None
    score_id, row_model, points, tier, computed_at, basis, inputs, inputs_hash, shown, until \
        = stored  # the row's own model id: `is_current` and `derive` compare it
    found = _Stored(score_id, row_model, points, tier, utc(computed_at), basis, inputs,
                    inputs_hash, shown, None if until is None else utc(until))
    if not is_current(found, _Version(score_version), model,
                      scoring_scope(frozenset(categories)), now):
        return None
    derived = integrity.derive(model, found)
    if not derived.ok:
        return None  # the general path audits it and recomputes
    return model, found, derived
