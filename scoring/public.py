"""The public model card: what anyone may read about the active model (issue 23 item 4).

`GET /api/v1/model` answers `card(...)`: every feature with its category (core or supplement,
from the registry), bins and points, reason and tip texts, the dimensions, the tiers, the
core/supplement split with the most each supplement can add (`scoring.spec.supplement_gain`),
the latest validation summary, version and activation date. `GET /api/v1/model/spec` answers
the spec itself as `spec_bytes(...)`: its canonical JSON, whose SHA-256 is the model hash every
score's inputs name — so a third party checks the text with one hash and recomputes any score
from an export's inputs (docs/model-card.md, "Recompute a score yourself").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.idempotency import iso
from core.registry import CATEGORIES
from scoring.monitor import ModelValidation
from scoring.spec import Feature, Model, canonical_json, supplement_gain
from scoring.store import ScoreModel

SPEC_PATH = "/api/v1/model/spec"
# A model a resident's stored score may name: one that was ever in force or validated.
PUBLISHED = ("validated", "active", "retired")


def published_row(session: Session, model_id: str | None = None) -> ScoreModel:
    """The active model's row, or the published model `model_id` (NotFound otherwise)."""
    query = select(ScoreModel).where(ScoreModel.status == "active") if model_id is None \
        else select(ScoreModel).where(ScoreModel.id == model_id,
                                      ScoreModel.status.in_(PUBLISHED))
    row = session.scalars(query).first()
    if row is None:
        raise NotFound("no such published model" if model_id else "no active scoring model")
    return row


def spec_bytes(row: ScoreModel) -> bytes:
    """The spec's canonical JSON: its SHA-256 is the model hash (`scoring.spec.spec_hash`)."""
    return canonical_json(row.spec).encode("utf-8")


def _bins(f: Feature) -> list[dict[str, Any]]:
    """The bins as ranges: [from, to) with its points; None is an open end."""
    lows: list[float | None] = [None, *f.edges]
    highs: list[float | None] = [*f.edges, None]
    return [{"from": lo, "to": hi, "points": p}
            for lo, hi, p in zip(lows, highs, f.points, strict=True)]


def _lang(obj: Any, field: str) -> dict[str, str]:
    return {"zh": getattr(obj, f"{field}_zh"), "en": getattr(obj, f"{field}_en")}


def _category(model: Model, code: str) -> dict[str, Any]:
    c = CATEGORIES[code]
    out: dict[str, Any] = {
        "code": code, "name": _lang(c, "name"), "role": c.role, "legal_basis": c.legal_basis,
        "why": c.role_reason, "sensitivity": c.sensitivity,
        "features": [f.code for f in model.features if f.category == code],
    }
    if c.role == "supplement":
        out["max_points"] = supplement_gain(model, code)
    return out


def _feature(f: Feature) -> dict[str, Any]:
    return {
        "code": f.code, "name": dict(f.name), "category": f.category,
        "role": CATEGORIES[f.category].role, "types": list(f.types),
        "window_days": f.window_days, "aggregate": f.aggregate, "edges": list(f.edges),
        "points": list(f.points), "bins": _bins(f), "unknown_points": f.unknown_points,
        "max_points": f.max_points, "dimension": f.dimension, "monotonic": f.monotonic,
        "reason": dict(f.reason), "tip": dict(f.tip), "positive": dict(f.positive),
    }


def card(row: ScoreModel, model: Model, validation: ModelValidation | None) -> dict[str, Any]:
    """The model card of a stored model (see the module docstring)."""
    lo, hi = model.score_range
    dim_max = {d.code: 0 for d in model.dimensions}
    for f in model.features:
        dim_max[f.dimension] += f.max_points
    tiers = sorted(model.tiers, key=lambda t: t.min)
    return {
        "id": model.id, "version": model.version, "name": dict(model.raw.get("name") or {}),
        "status": row.status, "hash": model.hash, "spec_url": f"{SPEC_PATH}?model={model.id}",
        "activated_at": _iso(row.activated_at), "validated_at": _iso(row.validated_at),
        "base_points": model.base_points, "score_range": {"min": lo, "max": hi},
        "tiers": [{"code": t.code, "name": dict(t.name), "min": t.min,
                   "max": (tiers[i + 1].min - 1 if i + 1 < len(tiers) else None)}
                  for i, t in enumerate(tiers)],
        "dimensions": [{"code": d.code, "name": dict(d.name), "max_points": dim_max[d.code]}
                       for d in model.dimensions],
        "categories": [_category(model, c) for c in CATEGORIES if c in model.category_codes],
        "features": [_feature(f) for f in model.features],
        "validation": None if validation is None else {
            "at": _iso(validation.validated_at), **validation.summary},
    }


def _iso(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None
