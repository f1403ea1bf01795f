"""Model specs: the versioned JSON file that defines a scorecard, parsed into a `Model`.

A spec is plain JSON (see ``scoring/models/pengcheng-v1.json`` and docs/model-card.md)::

    {"id", "version", "name": {zh, en}, "base_points",
     "dimensions": [{"code", "name": {zh, en}}],
     "features": [{"code", "category", "types", "window_days", "aggregate", "bins", "points",
                   "unknown_points", "dimension", "monotonic", "name", "reason", "tip",
                   "positive"}],
     "tiers": [{"code", "min", "name": {zh, en}}]}

Bins are the sorted *edges* e0 < e1 < … < e(k-1); a value v falls into bin
``bisect_right(edges, v)``, i.e. bin 0 is (-inf, e0), bin i is [e(i-1), e(i)), bin k is
[e(k-1), +inf). ``points`` has k+1 integers. A bin is *reachable* when some value the
aggregate can take falls into it (`value_range`: counts and sums are never negative, ``exists``
is 0 or 1, …); a feature's best and worst points are over its reachable bins.

A value is *unknown* (NaN) only when the feature's category is a supplement the resident has not
added (core categories are always counted: `core.registry`); it then earns ``unknown_points``
and has bin -1. The validator requires ``unknown_points`` to be the worst reachable points, so a
left-out supplement earns exactly what its worst evidence would, and adding it can only help;
`supplement_gain` is the most adding it can bring.

`load_model` validates before parsing and raises `ModelInvalid` with every problem found.
Lifecycle (draft → validated → active → retired) is persisted by the app; this module gives it
the pure pieces: `validate_spec`, `canonical_json` and `spec_hash`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from core.canonical import canonical
from core.registry import CATEGORIES
from scoring.codes import CATEGORY_INDEX, SECONDS_PER_DAY, SECONDS_PER_MONTH, TYPE_INDEX

AGGREGATES = ("count", "sum_amount", "sum_quantity", "months_since_last", "exists",
              "worst_severity")
MONOTONIC = ("increasing", "decreasing", "none")
LANGS = ("zh", "en")
MODELS_DIR = Path(__file__).parent / "models"


def never_months(window_days: int) -> int:
    """`months_since_last` with no record in the window: its length in months, rounded up
    ("at least this long") — the largest value the aggregate takes."""
    return -(-window_days * SECONDS_PER_DAY // SECONDS_PER_MONTH)


def value_range(aggregate: str, window_days: int) -> tuple[float, float]:
    """The least and greatest value an aggregate can take (records hold no negative amounts
    or quantities; a resident without records has worst_severity -1)."""
    if aggregate == "exists":
        return 0.0, 1.0
    if aggregate == "worst_severity":
        return -1.0, 2.0
    if aggregate == "months_since_last":
        return 0.0, float(never_months(window_days))
    return 0.0, math.inf


def reachable_bins(edges: Sequence[float], aggregate: str, window_days: int) -> list[int]:
    """The bins some value of the aggregate falls into (bin i is [e(i-1), e(i)))."""
    lo, hi = value_range(aggregate, window_days)
    bounds = [-math.inf, *edges, math.inf]
    return [i for i in range(len(edges) + 1) if bounds[i] <= hi and bounds[i + 1] > lo]


class ModelInvalid(ValueError):
    """A model spec was refused; ``problems`` lists every reason."""

    code = "model_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Feature:
    """One scorecard characteristic, parsed from the spec."""

    index: int
    code: str
    category: str
    category_index: int
    types: tuple[str, ...]
    type_indices: tuple[int, ...]
    window_days: int
    aggregate: str
    edges: tuple[float, ...]
    points: tuple[int, ...]
    unknown_points: int
    dimension: str
    monotonic: str
    name: dict[str, str]
    reason: dict[str, str]
    tip: dict[str, str]
    positive: dict[str, str]

    # cached (the dataclass is frozen): explanations read these for every resident scored
    @cached_property
    def reachable_points(self) -> tuple[int, ...]:
        """Points of the bins a value can fall into."""
        return tuple(self.points[b] for b in reachable_bins(self.edges, self.aggregate,
                                                            self.window_days))

    @cached_property
    def max_points(self) -> int:
        """The most this feature can contribute: its best evidence."""
        return max(self.reachable_points)

    @cached_property
    def min_points(self) -> int:
        """The least this feature can contribute: its worst evidence (also what it earns
        unknown, once validated)."""
        return min(self.reachable_points)


@dataclass(frozen=True)
class Dimension:
    code: str
    name: dict[str, str]


@dataclass(frozen=True)
class Tier:
    code: str
    min: int
    name: dict[str, str]


@dataclass(frozen=True)
class Model:
    """A validated, parsed model spec. ``raw`` is the JSON object it came from."""

    id: str
    version: str
    base_points: int
    dimensions: tuple[Dimension, ...]
    features: tuple[Feature, ...]
    tiers: tuple[Tier, ...]  # highest minimum first
    raw: dict[str, Any]
    hash: str

    def tier_for(self, score: int) -> Tier:
        """The tier a score falls into (tiers are sorted by minimum, highest first)."""
        for tier in self.tiers:
            if score >= tier.min:
                return tier
        return self.tiers[-1]

    @cached_property
    def feature_codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.features)

    @cached_property
    def category_codes(self) -> tuple[str, ...]:
        """Categories the model reads, in first-use order."""
        return tuple(dict.fromkeys(f.category for f in self.features))

    @cached_property
    def supplement_codes(self) -> tuple[str, ...]:
        """Supplement categories the model reads, in registry order."""
        return tuple(c for c in CATEGORIES if c in self.category_codes
                     and not CATEGORIES[c].core)

    @cached_property
    def score_range(self) -> tuple[int, int]:
        """The lowest and highest achievable score."""
        lo = self.base_points + sum(f.min_points for f in self.features)
        hi = self.base_points + sum(f.max_points for f in self.features)
        return lo, hi


def supplement_gain(spec: Model | dict[str, Any], category: str) -> int:
    """The most points adding supplement `category` can bring under a model (a `Model` or its
    JSON spec): per feature on it, the best evidence's points minus what it earns left out.

    From the spec alone, never from anyone's data; 0 for a supplement the model does not read.
    Raises ValueError for a core or unregistered category (the core is never left out).
    """
    model = spec if isinstance(spec, Model) else parse_model(spec)
    cat = CATEGORIES.get(category)
    if cat is None or cat.core:
        raise ValueError(f"{category!r} is not a supplement category")
    return sum(f.max_points - f.unknown_points for f in model.features
               if f.category == category)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 text kept as is."""
    return canonical(obj).decode("utf-8", "surrogatepass")


def spec_hash(spec: dict[str, Any]) -> str:
    """SHA-256 (hex) of the spec's canonical JSON; identifies exactly one model text."""
    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()


def parse_model(spec: dict[str, Any]) -> Model:
    """Validate a spec dict and parse it into a `Model`; raises `ModelInvalid`."""
    from scoring.spec_check import validate_spec

    problems = validate_spec(spec)
    if problems:
        raise ModelInvalid(problems)
    features = tuple(
        Feature(
            index=i,
            code=f["code"],
            category=f["category"],
            category_index=CATEGORY_INDEX[f["category"]],
            types=tuple(f["types"]),
            type_indices=tuple(TYPE_INDEX[(f["category"], t)] for t in f["types"]),
            window_days=int(f["window_days"]),
            aggregate=f["aggregate"],
            edges=tuple(float(e) for e in f["bins"]),
            points=tuple(int(p) for p in f["points"]),
            unknown_points=int(f["unknown_points"]),
            dimension=f["dimension"],
            monotonic=f["monotonic"],
            name=dict(f["name"]),
            reason=dict(f["reason"]),
            tip=dict(f["tip"]),
            positive=dict(f.get("positive") or f["name"]),
        )
        for i, f in enumerate(spec["features"])
    )
    tiers = sorted(
        (Tier(t["code"], int(t["min"]), dict(t["name"])) for t in spec["tiers"]),
        key=lambda t: -t.min,
    )
    return Model(
        id=spec["id"],
        version=str(spec["version"]),
        base_points=int(spec["base_points"]),
        dimensions=tuple(Dimension(d["code"], dict(d["name"])) for d in spec["dimensions"]),
        features=features,
        tiers=tuple(tiers),
        raw=spec,
        hash=spec_hash(spec),
    )


def load_spec_text(text: str) -> Model:
    """Parse and validate a spec given as JSON text; malformed JSON is a `ModelInvalid` too."""
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelInvalid([f"not valid JSON: {exc}"]) from exc
    if not isinstance(spec, dict):
        raise ModelInvalid(["spec must be a JSON object"])
    return parse_model(spec)


def load_model(source: str | Path) -> Model:
    """Load a model by id (``"pengcheng-v1"``, from scoring/models/) or from a JSON file path."""
    path = Path(source)
    if not path.suffix and not path.exists():
        path = MODELS_DIR / f"{source}.json"
    return load_spec_text(path.read_text(encoding="utf-8"))


def builtin_model_ids() -> list[str]:
    """Ids of the model specs shipped in scoring/models/."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.json"))
