"""Validation metrics (结果验证机制) over score arrays — pure numpy, no plotting libraries.

Conventions: ``bad`` is 1/True for the adverse outcome (e.g. a 先诊后付 default); a *higher*
score must mean *lower* risk. AUC is P(score of a good > score of a bad), ties counting half;
Gini = 2·AUC − 1; KS is the largest gap between the cumulative score distributions of bads and
goods. PSI compares two score runs over fixed score bands (ε-smoothed). The HTML report with
inline SVG plots lives in `scoring.report`.

*Calibration* asks whether a score band means the same risk in every group: the *predicted* bad
rate of a band is the whole population's bad rate in that band (what the score says), the
*observed* one the group's own; a group's calibration gap is the mean of |observed − predicted|
over its bands, weighted by its residents in each. `group_metrics` gives per group the score
distribution and the outcome metrics (bad rate, AUC with its standard error, calibration);
`departures` names the groups whose AUC or calibration departs most from the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from scoring.synthetic import DISTRICTS

DEFAULT_BANDS: tuple[int, ...] = (0, 450, 500, 550, 600, 650, 700, 750, 800, 850, 1001)
AGE_BANDS: tuple[tuple[int, int], ...] = ((18, 25), (25, 35), (35, 45), (45, 55), (55, 65),
                                          (65, 200))


def auc(scores: np.ndarray, bad: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random good outscores a random bad."""
    s = np.asarray(scores, dtype=np.float64)
    b = np.asarray(bad, dtype=bool)
    n_bad, n_good = int(b.sum()), int((~b).sum())
    if n_bad == 0 or n_good == 0:
        raise ValueError("AUC needs both goods and bads")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # average ranks over ties
    starts = np.flatnonzero(np.concatenate(([True], sorted_s[1:] != sorted_s[:-1])))
    ends = np.concatenate((starts[1:], [s.size]))
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    rank_sum_good = ranks[~b].sum()
    return float((rank_sum_good - n_good * (n_good + 1) / 2.0) / (n_good * n_bad))


def auc_se(value: float, n_good: int, n_bad: int) -> float:
    """The standard error of an AUC (Hanley & McNeil 1982), goods being the class that
    should score higher: how far a group's AUC may stray from the whole's by chance."""
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    var = (value * (1 - value) + (n_good - 1) * (q1 - value**2)
           + (n_bad - 1) * (q2 - value**2)) / (n_good * n_bad)
    return float(np.sqrt(max(var, 0.0)))


def gini(scores: np.ndarray, bad: np.ndarray) -> float:
    """Gini coefficient (accuracy ratio) = 2·AUC − 1."""
    return 2.0 * auc(scores, bad) - 1.0


def ks(scores: np.ndarray, bad: np.ndarray) -> float:
    """Kolmogorov–Smirnov statistic between the score distributions of bads and goods."""
    s = np.asarray(scores, dtype=np.float64)
    b = np.asarray(bad, dtype=bool)
    grid = np.unique(s)
    cdf_bad = np.searchsorted(np.sort(s[b]), grid, side="right") / max(1, b.sum())
    cdf_good = np.searchsorted(np.sort(s[~b]), grid, side="right") / max(1, (~b).sum())
    return float(np.max(np.abs(cdf_bad - cdf_good))) if grid.size else 0.0


def psi(expected: np.ndarray, actual: np.ndarray, bands: Sequence[float] = DEFAULT_BANDS,
        eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` over score bands."""
    e = np.histogram(np.asarray(expected, dtype=np.float64), bins=bands)[0] / max(1, len(expected))
    a = np.histogram(np.asarray(actual, dtype=np.float64), bins=bands)[0] / max(1, len(actual))
    e, a = np.maximum(e, eps), np.maximum(a, eps)
    return float(np.sum((a - e) * np.log(a / e)))


def default_rate_by_band(scores: np.ndarray, bad: np.ndarray,
                         bands: Sequence[float] = DEFAULT_BANDS) -> list[dict[str, Any]]:
    """Per score band: count and bad rate (bands with no residents are left out)."""
    s = np.asarray(scores)
    b = np.asarray(bad, dtype=bool)
    idx = np.searchsorted(np.asarray(bands), s, side="right") - 1
    rows = []
    for k in range(len(bands) - 1):
        hit = idx == k
        count = int(hit.sum())
        if count:
            rows.append({"band": f"{bands[k]}–{bands[k + 1] - 1}", "lo": bands[k],
                         "count": count, "bad_rate": float(b[hit].mean())})
    return rows


def monotonicity(scores: np.ndarray, bad: np.ndarray, bands: Sequence[float] = DEFAULT_BANDS,
                 min_count: int = 30, tolerance_se: float = 2.0) -> dict[str, Any]:
    """Whether the bad rate falls as the score band rises.

    A *break* is a band whose bad rate exceeds the previous band's by more than
    ``tolerance_se`` standard errors of the difference (sampling noise is not a break; pass 0
    for the strict check). Bands with fewer than ``min_count`` residents are ignored.
    """
    rows = [r for r in default_rate_by_band(scores, bad, bands) if r["count"] >= min_count]
    breaks = []
    for prev, cur in zip(rows, rows[1:], strict=False):
        p0, p1 = prev["bad_rate"], cur["bad_rate"]
        se = float(np.sqrt(p0 * (1 - p0) / prev["count"] + p1 * (1 - p1) / cur["count"]))
        if p1 - p0 > tolerance_se * se and p1 > p0:
            breaks.append(cur["band"])
    return {"monotonic": not breaks, "breaks": breaks, "bands": rows}


# "<18", then one label per band ("25–34", "65+"): index i + 1 is AGE_BANDS[i].
_AGE_LABELS = ("<18", *(f"{lo}+" if hi >= 200 else f"{lo}–{hi - 1}" for lo, hi in AGE_BANDS))
_AGE_EDGES = np.array([lo for lo, _ in AGE_BANDS])


def band_of_age(age: int) -> str:
    """The age band label of an age in whole years."""
    return _AGE_LABELS[int(np.searchsorted(_AGE_EDGES, age, side="right"))]


def age_band(birth: date, as_of: date) -> str:
    """The age band label ("25–34", "65+") of a birth date on a day."""
    return band_of_age(
        as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day)))


def age_bands_from_days(birth_day: np.ndarray, as_of_day: int) -> np.ndarray:
    """Age band labels for birth dates given as days since 1970-01-01 (vectorized)."""
    age = (as_of_day - np.asarray(birth_day)) / 365.2425
    return np.array(_AGE_LABELS)[np.searchsorted(_AGE_EDGES, np.floor(age), side="right")]


def distribution_by_group(scores: np.ndarray, groups: Sequence[Any] | np.ndarray,
                          tier_mins: Sequence[tuple[str, int]] | None = None
                          ) -> list[dict[str, Any]]:
    """Per group: count, mean, p10/p50/p90 and (optionally) the share in each tier."""
    s = np.asarray(scores, dtype=np.float64)
    g = np.asarray(groups)
    out = []
    for key in sorted(set(g.tolist())):
        v = s[g == key]
        row: dict[str, Any] = {"group": str(key), "count": int(v.size),
                               "mean": round(float(v.mean()), 1)}
        for q, val in zip((10, 50, 90), np.percentile(v, [10, 50, 90]), strict=True):
            row[f"p{q}"] = round(float(val), 1)
        if tier_mins:
            row["tiers"] = _tier_shares(v, tier_mins)
        out.append(row)
    return out


def _tier_shares(v: np.ndarray, tier_mins: Sequence[tuple[str, int]]) -> dict[str, float]:
    ordered = sorted(tier_mins, key=lambda t: -t[1])
    shares, upper = {}, np.inf
    for code, lo in ordered:
        shares[code] = round(float(((v >= lo) & (v < upper)).mean()), 4)
        upper = lo
    return shares


def summary(scores: np.ndarray, bad: np.ndarray, *, previous: np.ndarray | None = None
            ) -> dict[str, Any]:
    """KS, AUC, Gini, monotonicity and (with a previous run) PSI in one dict."""
    out: dict[str, Any] = {"n": int(len(scores)), "bad_rate": float(np.mean(bad)),
                           "ks": ks(scores, bad), "auc": auc(scores, bad),
                           "gini": gini(scores, bad),
                           "monotonicity": monotonicity(scores, bad)}
    if previous is not None:
        out["psi"] = psi(previous, scores)
    return out


DISTRICT_NAMES = {code: f"{zh} {code.title()}" for code, zh, _region, _w in DISTRICTS}


def district_name(code: str | None) -> str:
    """A district's name ("福田区 Futian") from its code; anything else as it is."""
    return "unknown" if not code else DISTRICT_NAMES.get(code, code)


def band_shares(scores: np.ndarray, bands: Sequence[float] = DEFAULT_BANDS) -> list[float]:
    """The share of scores in each band (what a PSI baseline stores)."""
    counts = np.histogram(np.asarray(scores, dtype=np.float64), bins=bands)[0]
    return (counts / max(1, int(counts.sum()))).tolist()


def psi_shares(expected: Sequence[float], actual: np.ndarray,
               bands: Sequence[float] = DEFAULT_BANDS, eps: float = 1e-4) -> float:
    """`psi` of ``actual`` against a stored distribution (band shares, see `band_shares`)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), eps)
    a = np.maximum(np.asarray(band_shares(actual, bands)), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def calibration(scores: np.ndarray, bad: np.ndarray, predicted: dict[int, float],
                bands: Sequence[float] = DEFAULT_BANDS) -> list[dict[str, Any]]:
    """Per score band present: count, the predicted bad rate (``predicted`` by band's lower
    edge, from `default_rate_by_band` of the whole) and the observed one."""
    return [{"band": r["band"], "lo": r["lo"], "count": r["count"],
             "predicted": round(predicted[r["lo"]], 4), "observed": round(r["bad_rate"], 4)}
            for r in default_rate_by_band(scores, bad, bands) if r["lo"] in predicted]


def calibration_gap(rows: list[dict[str, Any]]) -> float | None:
    """Mean |observed − predicted| over the bands, weighted by count (None: no bands)."""
    total = sum(r["count"] for r in rows)
    if not total:
        return None
    return round(sum(r["count"] * abs(r["observed"] - r["predicted"]) for r in rows) / total,
                 4)


def group_metrics(scores: np.ndarray, bad: np.ndarray, groups: Sequence[Any] | np.ndarray, *,
                  tier_mins: Sequence[tuple[str, int]], min_group: int = 30,
                  bands: Sequence[float] = DEFAULT_BANDS) -> list[dict[str, Any]]:
    """Per group: the distribution (`distribution_by_group`) and the outcome metrics — bad rate,
    AUC (None without both outcomes), calibration by band and its gap. A group smaller than
    ``min_group`` shows its count only: a handful of people's scores would be readable."""
    s = np.asarray(scores, dtype=np.float64)
    b = np.asarray(bad, dtype=bool)
    g = np.asarray(groups)
    predicted = {r["lo"]: r["bad_rate"] for r in default_rate_by_band(s, b, bands)}
    out = []
    for row in distribution_by_group(s, g, tier_mins):
        if row["count"] < min_group:
            out.append({"group": row["group"], "count": row["count"], "suppressed": True})
            continue
        hit = g.astype(str) == row["group"]
        gb = b[hit]
        cal = calibration(s[hit], gb, predicted, bands)
        value = auc(s[hit], gb) if 0 < gb.sum() < gb.size else None
        out.append({**row, "bad_rate": round(float(gb.mean()), 4),
                    "auc": None if value is None else round(value, 4),
                    "auc_se": None if value is None else round(
                        auc_se(value, int((~gb).sum()), int(gb.sum())), 4),
                    "calibration": cal, "calibration_gap": calibration_gap(cal)})
    return out


def departures(groupings: dict[str, list[dict[str, Any]]], overall_auc: float, *,
               top: int = 2, min_count: int = 100) -> dict[str, list[dict[str, Any]]]:
    """Per grouping, the ``top`` groups of at least ``min_count`` residents whose AUC departs
    most from the whole's, and those with the largest calibration gap:
    [{grouping, group, count, value, by}], largest departure first (smaller groups depart by
    sampling noise alone)."""
    found: dict[str, list[dict[str, Any]]] = {"auc": [], "calibration": []}
    for name, rows in groupings.items():
        rows = [r for r in rows if not r.get("suppressed") and r["count"] >= min_count]
        by_auc = sorted((r for r in rows if r.get("auc") is not None),
                        key=lambda r: -abs(r["auc"] - overall_auc))
        by_cal = sorted((r for r in rows if r.get("calibration_gap") is not None),
                        key=lambda r: -r["calibration_gap"])
        found["auc"] += [{"grouping": name, "group": r["group"], "count": r["count"],
                          "value": round(r["auc"], 4), "by": round(r["auc"] - overall_auc, 4),
                          "se": r["auc_se"]} for r in by_auc[:top]]
        found["calibration"] += [{"grouping": name, "group": r["group"], "count": r["count"],
                                  "value": round(r["calibration_gap"], 4),
                                  "by": round(r["calibration_gap"], 4)} for r in by_cal[:top]]
    for key in found:
        found[key].sort(key=lambda d: -abs(d["by"]))
    return found
