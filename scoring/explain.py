"""Explanations (DESIGN §6 shape), stored inputs, and bit-for-bit recomputation.

`explain` turns a `Scored` into the pinned shape::

    {score, tier, tier_name, model, model_hash, as_of,
     dimensions: [{code, name, points, max_points}],
     reasons: [{code, text, points_lost, tip}]            (≤ 4, most points lost first)
     positives: [{code, text, points}]                     (≤ 4, features at their maximum)
     unused_categories: [{category, name: {zh, en}, max_points}]
                        (supplements the model reads that the resident has not added, with the
                         most each could add — `scoring.spec.supplement_gain`, from the spec
                         alone; most points first)
     features: [{code, value, bin, points, max_points}],
     inputs_hash, lang}

Texts are in one language chosen by ``lang`` ("zh", the default, or "en"); store the inputs
and re-render in the other language at will — the numbers do not depend on the language.

`canonical_inputs` is what to store next to a score: model id and spec hash, as_of, the
categories counted (`score_resident` and the batch path always include the core:
`scoring.features.scoring_scope`) and the feature vector. `recompute` rebuilds the
explanation from it alone, and `verify` checks that a stored explanation matches that
recomputation exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from core.canonical import canonical
from core.registry import CATEGORIES
from scoring.engine import MAX_REASONS, Scored, score_one
from scoring.features import (
    batch_from_records,
    compute_features,
    consent_row,
    from_epoch,
    scoring_scope,
    to_epoch,
)
from scoring.spec import Model, canonical_json, supplement_gain

LANGS = ("zh", "en")


class ScoringConsentRequired(Exception):
    """The resident has consented to no category this model reads: there is no score."""

    code = "consent_required"


def _iso(as_of: int) -> str:
    return from_epoch(as_of).isoformat().replace("+00:00", "Z")


def _value_json(v: float) -> float | int | None:
    if math.isnan(v):
        return None
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def canonical_inputs(model: Model, values: Sequence[float], consented: Iterable[str],
                     as_of: int | datetime) -> dict[str, Any]:
    """The stored inputs of a score: enough to recompute it exactly (JSON-ready)."""
    chosen = set(consented)
    return {
        "model": model.id,
        "model_hash": model.hash,
        "as_of": _iso(to_epoch(as_of)),
        "consented_categories": [c for c in CATEGORIES if c in chosen],
        "features": {f.code: _value_json(float(v))
                     for f, v in zip(model.features, values, strict=True)},
    }


def inputs_hash(inputs: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of stored inputs."""
    return hashlib.sha256(canonical(inputs)).hexdigest()


def stored_inputs(model: Model, values: Sequence[float], consented: Iterable[str],
                  as_of: int | datetime) -> tuple[str, str]:
    """`canonical_inputs` as the JSON text to store, and its `inputs_hash` (encoded once)."""
    text = canonical(canonical_inputs(model, values, consented, as_of))
    return text.decode("utf-8", "surrogatepass"), hashlib.sha256(text).hexdigest()


def explain(model: Model, values: Sequence[float], consented: Iterable[str],
            as_of: int | datetime, *, lang: str = "zh",
            scored: Scored | None = None) -> dict[str, Any]:
    """The explanation of one resident's score (see module docstring for the shape)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}")
    chosen = set(consented)
    values = [float(v) for v in values]
    s = scored or score_one(model, values)
    inputs = canonical_inputs(model, values, chosen, as_of)
    dim_points = {d.code: 0 for d in model.dimensions}
    dim_max = {d.code: 0 for d in model.dimensions}
    features = []
    for f, v, b, p in zip(model.features, values, s.bins, s.points, strict=True):
        dim_points[f.dimension] += p
        dim_max[f.dimension] += f.max_points
        features.append({"code": f.code, "name": f.name[lang], "value": _value_json(v),
                         "bin": b, "points": p, "max_points": f.max_points})
    reasons = [
        {"code": model.features[j].code, "text": model.features[j].reason[lang],
         "points_lost": model.features[j].max_points - s.points[j],
         "tip": model.features[j].tip[lang]}
        for j in s.reasons
    ]
    gains = sorted(
        (-(p - f.min_points), f.index) for f, p, b in zip(model.features, s.points, s.bins,
                                                         strict=True)
        if b >= 0 and p == f.max_points and f.max_points > f.min_points
    )
    positives = [
        {"code": model.features[j].code, "text": model.features[j].positive[lang],
         "points": -g}
        for g, j in gains[:MAX_REASONS]
    ]
    tier = model.tier_for(s.score)
    adds = sorted(((-supplement_gain(model, c), c) for c in model.supplement_codes
                   if c not in chosen), key=lambda a: a[0])  # registry order among equals
    unused = [{"category": c, "name": {"zh": CATEGORIES[c].name_zh, "en": CATEGORIES[c].name_en},
               "max_points": -g} for g, c in adds]
    return {
        "score": s.score,
        "tier": tier.code,
        "tier_name": tier.name[lang],
        "model": model.id,
        "model_hash": model.hash,
        "as_of": inputs["as_of"],
        "dimensions": [{"code": d.code, "name": d.name[lang], "points": dim_points[d.code],
                        "max_points": dim_max[d.code]} for d in model.dimensions],
        "reasons": reasons,
        "positives": positives,
        "unused_categories": unused,
        "features": features,
        "inputs_hash": inputs_hash(inputs),
        "lang": lang,
    }


def score_resident(model: Model, records: Iterable[Any], consented: Iterable[str],
                   as_of: int | datetime, *, lang: str = "zh") -> tuple[dict[str, Any],
                                                                       dict[str, Any]]:
    """Score one resident from plain records: (explanation, inputs to store). The core always
    counts; of the supplements, those in `consented`.

    Raises `ScoringConsentRequired` when the model reads no core category and none consented.
    """
    chosen = scoring_scope(consented)
    if not chosen & set(model.category_codes):
        raise ScoringConsentRequired("no consented category for this model")
    t = to_epoch(as_of)
    x = compute_features(model, batch_from_records(records), consent_row(chosen), t)
    values = x[0].tolist()
    return (explain(model, values, chosen, t, lang=lang),
            canonical_inputs(model, values, chosen, t))


def recompute(model: Model, inputs: dict[str, Any], *, lang: str = "zh") -> dict[str, Any]:
    """The explanation recomputed from stored inputs alone (same model text required)."""
    if inputs.get("model") != model.id or inputs.get("model_hash") != model.hash:
        raise ValueError("stored inputs name a different model or model text")
    feats = inputs["features"]
    values = [np.nan if feats[f.code] is None else float(feats[f.code]) for f in model.features]
    as_of = to_epoch(inputs["as_of"])
    return explain(model, values, inputs["consented_categories"], as_of, lang=lang)


def verify(model: Model, inputs: dict[str, Any], stored: dict[str, Any]) -> bool:
    """True when a stored explanation is exactly what its stored inputs recompute to."""
    lang = stored.get("lang", "zh")
    if inputs_hash(inputs) != stored.get("inputs_hash"):
        return False
    return canonical_json(recompute(model, inputs, lang=lang)) == canonical_json(stored)
