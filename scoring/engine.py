"""Points and scores: plain-Python `bisect` for one resident, vectorized numpy for a batch.

Both paths implement the same rule and are tested to agree exactly (tests/unit/scoring):

- bin = ``bisect_right(edges, value)``; an unknown value (NaN, category not consented) has bin -1
  and earns the feature's ``unknown_points``;
- score = base_points + Σ points (integers, so there is no rounding to disagree about);
- a *reason* is a known feature below its maximum; points_lost = max_points − points; reasons
  are ranked by points lost, ties by feature order in the spec, at most 4.
  Unknown (unconsented) features are never reasons: they are reported as unused categories.

The single path is ~10–20 µs; numpy would cost ~1 ms of call overhead for one row. The batch
path works in row chunks so its extra memory stays a fraction of the feature matrix.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from scoring.spec import Model

MAX_REASONS = 4


@dataclass(frozen=True)
class Scored:
    """One resident's points: bins and points per feature in spec order, and the reasons."""

    score: int
    bins: tuple[int, ...]
    points: tuple[int, ...]
    reasons: tuple[int, ...]  # feature indices, most points lost first


def score_one(model: Model, values: Sequence[float]) -> Scored:
    """Score one resident's feature vector (spec order; NaN = unknown) in plain Python."""
    bins: list[int] = []
    points: list[int] = []
    lost: list[tuple[int, int]] = []
    total = model.base_points
    for f, v in zip(model.features, values, strict=True):
        if math.isnan(v):
            b, p = -1, f.unknown_points
        else:
            b = bisect_right(f.edges, v)
            p = f.points[b]
            if p < f.max_points:
                lost.append((p - f.max_points, f.index))
        bins.append(b)
        points.append(p)
        total += p
    lost.sort()
    return Scored(total, tuple(bins), tuple(points), tuple(j for _, j in lost[:MAX_REASONS]))


@dataclass
class BatchScores:
    """Scores for many residents (row i of the feature matrix → row i here)."""

    scores: np.ndarray  # int32 (n,)
    bins: np.ndarray  # int8 (n, F); -1 = unknown (a view of an (F, n) array: filled by column)
    points: np.ndarray  # int16 (n, F), likewise
    reasons: np.ndarray  # int8 (n, 4) feature indices, -1 padded


class _Tables:
    """Per-model lookup arrays for the vectorized path."""

    def __init__(self, model: Model) -> None:
        self.edges = [tuple(float(e) for e in f.edges) for f in model.features]
        # by bin + 1 (slot 0: unknown), so the lookups index from 0 and need no bounds checks:
        # points, and the reason key
        self.points = [np.asarray((f.unknown_points, *f.points), dtype=np.int16)
                       for f in model.features]
        max_points = [f.max_points for f in model.features]
        n_features = len(model.features)
        self.shift = max(1, (n_features - 1).bit_length())
        self.key_dtype = np.int16 if (max(max_points, default=0) + 1) << self.shift < 2**15 \
            else np.int32
        # the reason key packs (points lost, tie-break) so one max finds the top reason; an
        # earlier feature wins a tie, so it gets the larger low bits; -1 where nothing is lost
        # or the value is unknown (never a reason)
        self.keys = [np.asarray([-1] + [((f.max_points - p) << self.shift | (n_features - 1 - j))
                                        if p < f.max_points else -1 for p in f.points],
                                dtype=self.key_dtype)
                     for j, f in enumerate(model.features)]
        self.base = model.base_points


def _score_chunk(t: _Tables, x: np.ndarray, out: BatchScores, lo: int, hi: int) -> None:
    """Score rows [lo, hi): columns are processed contiguously (x transposed once) and bins
    and points written straight into the (F, n) arrays behind `out`."""
    xt = np.ascontiguousarray(x.T)
    n_features, m = xt.shape
    bins = out.bins.T[:, lo:hi]
    pts = out.points.T[:, lo:hi]
    kd = t.key_dtype
    top = [np.full(m, -1, dtype=kd) for _ in range(MAX_REASONS)]
    lo_ = np.empty(m, dtype=kd)
    key = np.empty(m, dtype=kd)
    b = np.empty(m, dtype=np.int8)  # bin + 1: 0 where unknown
    above = np.empty(m, dtype=np.int8)
    for j in range(n_features):
        col = xt[j]
        np.equal(col, col, out=b.view(np.bool_))  # 1, or 0 for NaN
        for e in t.edges[j]:
            np.greater_equal(col, e, out=above.view(np.bool_))  # NaN compares False
            b += above
        np.subtract(b, 1, out=bins[j])
        np.take(t.points[j], b, out=pts[j], mode="clip")
        np.take(t.keys[j], b, out=key, mode="clip")
        # keep the 4 largest keys per row: insertion into sorted running maxima
        for k in range(MAX_REASONS - 1, 0, -1):
            np.minimum(top[k - 1], key, out=lo_)
            np.maximum(top[k], lo_, out=top[k])
        np.maximum(top[0], key, out=top[0])
    out.scores[lo:hi] = pts.sum(axis=0, dtype=np.int32) + t.base
    mask = (1 << t.shift) - 1
    reasons = out.reasons[lo:hi]
    for k in range(MAX_REASONS):
        tk = top[k].astype(np.int32)
        reasons[:, k] = np.where(tk >= 0, n_features - 1 - (tk & mask), -1)


def score_batch(model: Model, x: np.ndarray, *, chunk: int = 8192,
                threads: int = 1) -> BatchScores:
    """Score a feature matrix (n × F, spec order, NaN = unknown) with top-4 reasons.

    ``threads`` > 1 scores chunks concurrently (numpy releases the GIL in the heavy loops).
    """
    x = np.asarray(x, dtype=np.float64)
    n, n_features = x.shape
    if n_features != len(model.features):
        raise ValueError(f"expected {len(model.features)} feature columns, got {n_features}")
    t = _Tables(model)
    out = BatchScores(
        scores=np.empty(n, dtype=np.int32),
        bins=np.empty((n_features, n), dtype=np.int8).T,
        points=np.empty((n_features, n), dtype=np.int16).T,
        reasons=np.empty((n, MAX_REASONS), dtype=np.int8),
    )
    spans = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
    if threads > 1 and len(spans) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda s: _score_chunk(t, x[s[0]:s[1]], out, s[0], s[1]), spans))
    else:
        for lo, hi in spans:
            _score_chunk(t, x[lo:hi], out, lo, hi)
    return out


def scored_row(batch: BatchScores, i: int) -> Scored:
    """Row i of a batch result as a `Scored` (the single-path shape)."""
    return Scored(
        score=int(batch.scores[i]),
        bins=tuple(int(b) for b in batch.bins[i]),
        points=tuple(int(p) for p in batch.points[i]),
        reasons=tuple(int(r) for r in batch.reasons[i] if r >= 0),
    )
