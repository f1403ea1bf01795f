"""Fitting a scorecard from labelled outcomes: WOE binning + logistic regression + PDO scaling.

1. **Binning** per feature: quantile pre-bins (≤ ``prebins``; every distinct value when there
   are few, as for counts), tiny bins merged into a neighbour,
   then adjacent bins merged until the weight of evidence, WOE = ln(%good / %bad), moves in the
   template's declared monotonic direction (pool-adjacent-violators), then down to ``max_bins``
   by merging the closest WOEs. A feature left with one bin carries no information and is dropped.
2. **Logistic regression** of bad on the WOE-coded features by Newton/IRLS with an L2 penalty
   of 1 on the coefficients (scikit-learn's default, C = 1), so that on a small sample a
   feature that nearly separates good from bad is not blown up into hundreds of points. A
   feature whose coefficient has the wrong sign (collinearity) is dropped and the model refitted.
3. **Scaling** (points to double the odds, PDO): score = offset + factor · ln(odds good:bad),
   factor = PDO / ln 2, offset = target_score − factor · ln(target_odds). Defaults: 600 points at
   odds 50:1, PDO 40. Each bin earns round(−factor · β · WOE), shifted so a feature's worst bin is
   0 (the shift goes into base points); unknown (a left-out supplement) earns the worst
   reachable bin, as the validator requires.
4. The result is a **draft spec** (the template's feature definitions and texts with new bins,
   points and base) that must pass the same validator as a hand-written one.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from scoring.spec import reachable_bins


def _woe(good: np.ndarray, bad: np.ndarray) -> np.ndarray:
    g_tot, b_tot = good.sum(), bad.sum()
    return np.log(((good + 0.5) / (g_tot + 0.5)) / ((bad + 0.5) / (b_tot + 0.5)))


def _counts(v: np.ndarray, y: np.ndarray, edges: list[float]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), v, side="right")
    k = len(edges) + 1
    bad = np.bincount(idx, weights=y, minlength=k)
    good = np.bincount(idx, minlength=k) - bad
    return good, bad


def monotone_bins(v: np.ndarray, y: np.ndarray, direction: str, *, prebins: int = 10,
                  max_bins: int = 5, min_share: float = 0.02) -> list[float]:
    """Bin edges for one feature whose WOE is monotone in ``direction`` (or free for 'none')."""
    if not v.size:
        return []
    uniq = np.unique(v)
    if uniq.size <= 2 * prebins:  # few distinct values (counts): every value is a candidate
        edges = [float(u) for u in uniq[1:]]
    else:
        qs = np.quantile(v, np.linspace(0, 1, prebins + 1)[1:-1])
        edges = sorted({float(q) for q in qs if q > uniq[0]})
    min_count = max(1, int(min_share * v.size))

    def drop(i: int) -> None:  # merge bins i and i+1 by removing edge i
        del edges[i]

    while edges:
        good, bad = _counts(v, y, edges)
        small = np.flatnonzero(good + bad < min_count)
        if not small.size:
            break
        i = int(small[0])
        drop(min(i, len(edges) - 1) if i > 0 else 0)
    if direction == "none" and edges:
        good, bad = _counts(v, y, edges)
        w = _woe(good, bad)
        direction = "increasing" if w[-1] >= w[0] else "decreasing"
    sign = 1.0 if direction == "increasing" else -1.0
    while edges:
        w = sign * _woe(*_counts(v, y, edges))
        viol = np.flatnonzero(np.diff(w) < 0)
        if not viol.size:
            break
        drop(int(viol[0]))
    while len(edges) + 1 > max_bins:
        w = _woe(*_counts(v, y, edges))
        drop(int(np.argmin(np.abs(np.diff(w)))))
    return edges


def logistic_irls(x: np.ndarray, y: np.ndarray, *, ridge: float = 1.0,
                  iters: int = 50, tol: float = 1e-10) -> np.ndarray:
    """Coefficients [intercept, β…] of P(y=1) = σ(b0 + x·β) by Newton/IRLS."""
    a = np.column_stack([np.ones(x.shape[0]), x])
    beta = np.zeros(a.shape[1])
    penalty = ridge * np.eye(a.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a @ beta)))
        w = p * (1.0 - p)
        grad = a.T @ (y - p) - penalty @ beta
        hess = (a * w[:, None]).T @ a + penalty
        step = np.linalg.solve(hess, grad)
        beta += step
        if float(np.max(np.abs(step))) < tol:
            break
    return beta


def fit_spec(template: dict[str, Any], x: np.ndarray, bad: np.ndarray, *,
             model_id: str | None = None, version: str = "0.1.0-draft",
             target_score: int = 600, target_odds: float = 50.0, pdo: float = 40.0,
             max_bins: int = 5, prebins: int = 10) -> dict[str, Any]:
    """A draft model spec fitted to (x, bad); x has the template's features as columns."""
    y = np.asarray(bad, dtype=np.float64)
    feats = template["features"]
    if x.shape != (y.size, len(feats)):
        raise ValueError("x must be n × len(template features)")
    edges_by, woe_cols, woe_tables = {}, [], {}
    for j, f in enumerate(feats):
        col = x[:, j]
        known = ~np.isnan(col)
        edges = monotone_bins(col[known], y[known], f["monotonic"], prebins=prebins,
                              max_bins=max_bins)
        if not edges:
            continue
        table = _woe(*_counts(col[known], y[known], edges))
        w = np.zeros(y.size)
        w[known] = table[np.searchsorted(np.asarray(edges), col[known], side="right")]
        edges_by[j], woe_tables[j] = edges, table
        woe_cols.append((j, w))
    kept = [j for j, _ in woe_cols]
    cols = dict(woe_cols)
    while True:
        beta = logistic_irls(np.column_stack([cols[j] for j in kept]) if kept
                             else np.zeros((y.size, 0)), y)
        wrong = [j for j, b in zip(kept, beta[1:], strict=True) if b >= 0]
        if not wrong:
            break
        kept = [j for j in kept if j not in wrong]
    factor = pdo / math.log(2.0)
    offset = target_score - factor * math.log(target_odds)
    base = offset - factor * beta[0]
    out_feats, coefs = [], {}
    for j, b in zip(kept, beta[1:], strict=True):
        raw = -factor * b * woe_tables[j]
        shift = float(raw.min())
        base += shift
        pts = [int(round(r - shift)) for r in raw]
        f = copy.deepcopy(feats[j])
        edges = [float(e) for e in edges_by[j]]
        worst = min(pts[b] for b in reachable_bins(edges, f["aggregate"], f["window_days"]))
        f.update(bins=edges, points=pts, unknown_points=worst)
        out_feats.append(f)
        coefs[f["code"]] = round(float(b), 6)
    spec = copy.deepcopy(template)
    spec.update(
        id=model_id or f"{template['id']}-fit", version=version, base_points=int(round(base)),
        features=out_feats,
        fit={"method": "woe+logistic-irls", "target_score": target_score,
             "target_odds": target_odds, "pdo": pdo, "n": int(y.size),
             "bad_rate": round(float(y.mean()), 6), "intercept": round(float(beta[0]), 6),
             "coefficients": coefs,
             "dropped": [feats[j]["code"] for j in range(len(feats)) if j not in kept]},
    )
    return spec
