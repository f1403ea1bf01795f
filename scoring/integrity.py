"""Whether a stored score is what its stored inputs compute to.

Design overview
---------------
* A score row keeps its **inputs** (feature vector, consented categories, model id and text
  hash, as-of time) and, beside them, what the model computes from them: ``score``, ``tier``,
  ``inputs_hash``, ``computed_at`` (the as-of instant) and, in rows made on read, the
  explanation (the batch stores none: it is rendered from the inputs when read). Only the
  inputs are taken from the row; everything else is derived again and compared, so an edited
  score, tier or explanation is found without a key (no MAC: see docs/security.md, "Verifying
  scores").
* **The read path** (`derive`, ~30 µs): score, tier and points from the inputs with the
  model's single path (`score_one`), compared with the row's score and tier and with the
  explanation's score, tier, tier name, points per feature and dimension, and reason codes.
  The reader uses the derived score and tier only; a row that disagrees is no valid score
  (`scoring.services.fresh_score` recomputes from the records and audits ``score.tampered``).
  A token's issue reads no explanation (`scoring.read.DECISION_COLUMNS`): its row is held as
  a batch row is, the inputs against ``inputs_hash``.
* **`pengcheng score --verify`** (`differences`, ~0.6 ms a row): the full recomputation — the
  explanation bit for bit in its stored language, the inputs hash, score, tier, the as-of time
  and the model — naming every stored column (and explanation key) that differs.
* **`--verify` against the records** (`against_records`): a resident's latest row that is
  still current (its ``basis_version`` is the resident's ``score_version``: no record, consent
  or dispute changed since) must hold the feature vector and ``valid_until`` that the records
  compute to at its as-of time (the batch path's `records_batch` and `compute_features`, many
  residents at a time); a forged feature vector or a moved ``valid_until`` shows as
  ``inputs`` / ``valid_until``. Older rows are history: their records have moved on.
* Not checked: ``trigger``; ``basis_version`` and ``resident_id`` are what the row is looked
  up by (a row moved to another resident or version is caught only if its inputs then differ
  from that resident's records).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from core.identity import Resident
from core.registry import SUPPLEMENTS
from scoring.codes import NO_END
from scoring.engine import score_one
from scoring.explain import inputs_hash, recompute
from scoring.features import compute_features, consent_row, from_epoch, next_change, to_epoch
from scoring.spec import Model, canonical_json
from scoring.store import LATEST_FIRST, Score


class StoredScore(Protocol):
    """What the checks read of a stored score (a `scoring.store.Score`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def model_id(self) -> str: ...
    @property
    def score(self) -> int: ...
    @property
    def tier(self) -> str: ...
    @property
    def computed_at(self) -> datetime: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def inputs_hash(self) -> str: ...
    @property
    def explanation(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Derived:
    """Score and tier derived from a row's inputs (None when they cannot be), and the stored
    columns that disagree with the derivation."""

    score: int | None
    tier: str | None
    differs: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.differs


def _values(model: Model, inputs: dict[str, Any]) -> list[float]:
    if inputs.get("model") != model.id or inputs.get("model_hash") != model.hash:
        raise ValueError("the inputs name another model or model text")
    feats = inputs["features"]
    return [math.nan if feats[f.code] is None else float(feats[f.code]) for f in model.features]


def derive(model: Model, row: StoredScore) -> Derived:
    """The read path's check: score and tier from the row's inputs, and what disagrees."""
    try:
        values = _values(model, row.inputs)
    except (KeyError, TypeError, ValueError, AttributeError):
        return Derived(None, None, ("inputs",))
    s = score_one(model, values)
    tier = model.tier_for(s.score)
    differs = []
    if row.model_id != model.id:
        differs.append("model_id")
    if row.score != s.score:
        differs.append("score")
    if row.tier != tier.code:
        differs.append("tier")
    if row.explanation is None:  # rendered from the inputs: only their hash is stored beside
        if row.inputs_hash != inputs_hash(row.inputs):
            differs.append("inputs_hash")
        return Derived(s.score, tier.code, tuple(differs))
    e = row.explanation if isinstance(row.explanation, dict) else {}
    if e.get("inputs_hash") != row.inputs_hash:
        differs.append("inputs_hash")
    checks = {
        "score": lambda: e["score"] == s.score,
        "tier": lambda: e["tier"] == tier.code,
        "tier_name": lambda: e["tier_name"] == tier.name[e["lang"]],
        "features": lambda: [(f["code"], f["points"]) for f in e["features"]]
        == [(f.code, p) for f, p in zip(model.features, s.points, strict=True)],
        "dimensions": lambda: [(d["code"], d["points"]) for d in e["dimensions"]]
        == _dimension_points(model, s.points),
        "reasons": lambda: [r["code"] for r in e["reasons"]]
        == [model.features[j].code for j in s.reasons],
    }
    for key, check in checks.items():
        try:
            same = check()
        except (KeyError, TypeError):
            same = False
        if not same:
            differs.append(f"explanation.{key}")
    return Derived(s.score, tier.code, tuple(differs))


def _dimension_points(model: Model, points: tuple[int, ...]) -> list[tuple[str, int]]:
    total = {d.code: 0 for d in model.dimensions}
    for f, p in zip(model.features, points, strict=True):
        total[f.dimension] += p
    return [(d.code, total[d.code]) for d in model.dimensions]


@dataclass(frozen=True)
class Difference:
    """A stored score that is not what its inputs compute to: the columns that differ (an
    explanation key as ``explanation.<key>``), stored and recomputed score and tier."""

    differs: tuple[str, ...]
    stored: dict[str, Any]
    recomputed: dict[str, Any]


def differences(model: Model | None, row: StoredScore) -> Difference | None:
    """`pengcheng score --verify`'s check of one row (None: it holds); `model` is the model
    the row names (None: no such model)."""
    stored = {"score": row.score, "tier": row.tier}
    if model is None:
        return Difference(("model_id",), stored, {})
    stored_explanation = row.explanation is not None
    kept = row.explanation if isinstance(row.explanation, dict) else {}
    try:
        lang = kept.get("lang", "zh")
        again = recompute(model, row.inputs, lang=lang if lang in ("zh", "en") else "zh")
        as_of = to_epoch(row.inputs["as_of"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return Difference(("inputs",), stored, {})
    differs = []
    if row.model_id != model.id:
        differs.append("model_id")
    if row.score != again["score"]:
        differs.append("score")
    if row.tier != again["tier"]:
        differs.append("tier")
    if row.inputs_hash != inputs_hash(row.inputs):
        differs.append("inputs_hash")
    if to_epoch(row.computed_at) != as_of:
        differs.append("computed_at")
    for key in sorted(set(kept) | set(again)) if stored_explanation else ():
        if key not in kept or key not in again or (
                canonical_json(kept[key]) != canonical_json(again[key])
                and not (key == "unused_categories" and _same_unused(kept[key], again[key]))):
            differs.append(f"explanation.{key}")
    if not differs:
        return None
    return Difference(tuple(differs), stored, {"score": again["score"], "tier": again["tier"]})


# -- against the records ---------------------------------------------------------------------

CHUNK = 1000  # residents whose records are read and computed together


def _same_unused(kept: Any, again: list[dict[str, Any]]) -> bool:
    """Whether a score stored before issue 23, whose ``unused_categories`` were
    ``[{code, name}]`` (core categories among them), names the supplements recomputed now: the
    shape changed, the categories left out did not."""
    try:
        legacy = {u["code"] for u in kept if isinstance(u["name"], str)}
    except (KeyError, TypeError):
        return False
    return len(legacy) == len(kept) and legacy & SUPPLEMENTS == {u["category"] for u in again}


def against_records(session: Session, models: dict[str, Model]
                    ) -> Iterator[tuple[uuid.UUID, uuid.UUID, Difference]]:
    """(row id, resident id, difference) for each resident's latest row that is still current
    but whose feature vector or ``valid_until`` is not what the records compute to at its
    as-of time (see the module docstring); `models` by id."""
    from scoring.batch_records import records_batch  # the batch path's reader

    stmt = (select(Score.id, Score.resident_id, Score.model_id, Score.score, Score.tier,
                   Score.inputs, Score.valid_until, Score.basis_version,
                   Resident.score_version)
            .join(Resident, Resident.id == Score.resident_id)
            .ext(distinct_on(Score.resident_id))
            .order_by(Score.resident_id, *LATEST_FIRST))
    groups: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for row in session.execute(stmt):
        if row.basis_version != row.score_version or row.model_id not in models:
            continue
        try:
            groups[(row.model_id, to_epoch(row.inputs["as_of"]))].append(row)
        except (KeyError, TypeError, ValueError):
            continue  # `differences` reports unreadable inputs
    for (model_id, as_of), rows in groups.items():
        model = models[model_id]
        for start in range(0, len(rows), CHUNK):
            part = rows[start:start + CHUNK]
            batch = records_batch(session, [r.resident_id for r in part])
            mask = np.vstack([consent_row(r.inputs.get("consented_categories", []))
                              for r in part])
            x = compute_features(model, batch, mask, as_of)
            until = next_change(model, batch, mask, as_of)
            for i, r in enumerate(part):
                differs = []
                if not _same_features(model, r.inputs.get("features"), x[i]):
                    differs.append("inputs")
                edge = None if until[i] >= NO_END else from_epoch(int(until[i]))
                if r.valid_until != edge:
                    differs.append("valid_until")
                if differs:
                    s = score_one(model, x[i].tolist())
                    yield r.id, r.resident_id, Difference(
                        tuple(differs), {"score": r.score, "tier": r.tier},
                        {"score": s.score, "tier": model.tier_for(s.score).code})


def _same_features(model: Model, stored: Any, computed: np.ndarray) -> bool:
    if not isinstance(stored, dict):
        return False
    for f, value in zip(model.features, computed.tolist(), strict=True):
        kept = stored.get(f.code)
        if kept is None or math.isnan(value):
            if not (kept is None and math.isnan(value)):
                return False
        elif not isinstance(kept, int | float) or float(kept) != value:
            return False
    return True
