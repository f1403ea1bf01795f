"""The model validator: every reason a spec must be refused, as a list of problems.

It refuses banned inputs (征信业管理条例 art. 14: religion, genes, fingerprints, blood type,
illness and medical history, ethnicity — `core.registry.BANNED_INPUTS`) wherever they appear as a
code, category, record type, attribute name or any other non-text key or value; features on
unregistered categories or record types; unsorted bins; the wrong number of points per bin;
points that break the declared monotonic direction; an achievable score range outside 0–1000;
missing zh/en names, reason texts or tips; unknown dimensions; duplicate codes; bad tiers.
Free text (names, reasons, tips) is not scanned: it may say what the model never uses.

A supplement can only help (issue 23): adding a supplement category turns its features from
unknown into values, so the spec is refused unless every feature's ``unknown_points`` is
exactly the points of its worst reachable bin — more, and adding the category could lower a
score for some values; less, and leaving it out would score below the worst evidence. Core
features are never unknown for a scored resident, and are held to the same rule so that the
spec says one thing.
"""

from __future__ import annotations

import math
import re
from typing import Any

from core.registry import BANNED_INPUTS, CATEGORIES
from scoring.spec import AGGREGATES, LANGS, MONOTONIC, reachable_bins

SCORE_MIN, SCORE_MAX = 0, 1000
_TEXT_KEYS = frozenset({"name", "reason", "tip", "positive", "description", "notes"})
_TOP_KEYS = frozenset({"id", "version", "name", "description", "base_points", "dimensions",
                       "features", "tiers", "fit", "notes"})
_FEATURE_KEYS = frozenset({"code", "category", "types", "window_days", "aggregate", "bins",
                           "points", "unknown_points", "dimension", "monotonic", "name", "reason",
                           "tip", "positive", "description"})
_REQUIRED_FEATURE_KEYS = _FEATURE_KEYS - {"positive", "description"}
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_BANNED = [(b, re.compile(rf"(?:^|[^a-z]){re.escape(b)}(?:$|[^a-z])"))
           for b in sorted(BANNED_INPUTS)]


def banned_terms(value: str) -> list[str]:
    """The banned input terms in an identifier (``blood_type`` yes, ``blood_donation`` no)."""
    low = value.lower()
    return [term for term, pattern in _BANNED if pattern.search(low)]


def _scan_banned(obj: Any, where: str, problems: list[str]) -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            for term in banned_terms(str(key)):
                problems.append(f"{where}: banned input {term!r} in field name {key!r}")
            if key not in _TEXT_KEYS:
                _scan_banned(value, f"{where}.{key}", problems)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _scan_banned(value, f"{where}[{i}]", problems)
    elif isinstance(obj, str):
        for term in banned_terms(obj):
            problems.append(f"{where}: banned input {term!r} in {obj!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_texts(obj: dict[str, Any], keys: tuple[str, ...], where: str,
                 problems: list[str]) -> None:
    for key in keys:
        text = obj.get(key)
        for lang in LANGS:
            if not isinstance(text, dict) or not str(text.get(lang) or "").strip():
                problems.append(f"{where}: missing {lang} {key}")


def _check_feature(f: Any, where: str, dims: set[str], problems: list[str]) -> None:
    if not isinstance(f, dict):
        problems.append(f"{where}: must be an object")
        return
    for key in sorted(_REQUIRED_FEATURE_KEYS - f.keys()):
        problems.append(f"{where}: missing field {key!r}")
    for key in sorted(f.keys() - _FEATURE_KEYS):
        problems.append(f"{where}: unknown field {key!r}")
    category = f.get("category")
    cat = CATEGORIES.get(category) if isinstance(category, str) else None
    if cat is None:
        problems.append(f"{where}: unregistered category {category!r}")
    types = f.get("types")
    if not isinstance(types, list) or not types:
        problems.append(f"{where}: types must be a non-empty list")
    elif cat is not None:
        for t in types:
            if t not in cat.types:
                problems.append(f"{where}: unregistered record type {category}.{t}")
        if len(set(map(str, types))) != len(types):
            problems.append(f"{where}: duplicate record types")
    window = f.get("window_days")
    if not (isinstance(window, int) and not isinstance(window, bool) and window > 0):
        problems.append(f"{where}: window_days must be a positive integer")
    if f.get("aggregate") not in AGGREGATES:
        problems.append(f"{where}: aggregate must be one of {', '.join(AGGREGATES)}")
    if f.get("dimension") not in dims:
        problems.append(f"{where}: unknown dimension {f.get('dimension')!r}")
    monotonic = f.get("monotonic")
    if monotonic not in MONOTONIC:
        problems.append(f"{where}: monotonic must be one of {', '.join(MONOTONIC)}")
    if not _is_int(f.get("unknown_points")):
        problems.append(f"{where}: unknown_points must be an integer")
    _check_texts(f, ("name", "reason", "tip"), where, problems)
    if "positive" in f:
        _check_texts(f, ("positive",), where, problems)
    bins, points = f.get("bins"), f.get("points")
    if not isinstance(bins, list) or not all(
        isinstance(e, int | float) and not isinstance(e, bool) and math.isfinite(e) for e in bins
    ):
        problems.append(f"{where}: bins must be a list of finite numbers")
        return
    if any(b >= a for b, a in zip(bins, bins[1:], strict=False)):
        problems.append(f"{where}: bins are not strictly increasing")
    if not isinstance(points, list) or not all(_is_int(p) for p in points):
        problems.append(f"{where}: points must be a list of integers")
        return
    if len(points) != len(bins) + 1:
        problems.append(
            f"{where}: {len(bins)} bin edges need {len(bins) + 1} points, got {len(points)}"
        )
        return
    pairs = list(zip(points, points[1:], strict=False))
    if monotonic == "increasing" and any(b < a for a, b in pairs):
        problems.append(f"{where}: points decrease but monotonic is 'increasing'")
    if monotonic == "decreasing" and any(b > a for a, b in pairs):
        problems.append(f"{where}: points increase but monotonic is 'decreasing'")
    unknown = f.get("unknown_points")
    pts = _reachable_points(f)
    if pts is None or not isinstance(unknown, int) or isinstance(unknown, bool):
        return
    worst = min(pts)
    if unknown == worst:
        return
    if cat is None or cat.core:
        problems.append(f"{where}: unknown_points {unknown} must equal the worst evidence's "
                        f"points {worst} (a core feature is never unknown)")
    elif unknown > worst:
        problems.append(f"{where}: unknown_points {unknown} is above the worst evidence's "
                        f"points {worst}: adding the supplement {category!r} could lower a score")
    else:
        problems.append(f"{where}: unknown_points {unknown} is below the worst evidence's "
                        f"points {worst}: leaving out {category!r} would score below its worst "
                        "evidence")


def _reachable_points(f: dict[str, Any]) -> list[int] | None:
    """Points of the bins the feature's aggregate can reach; None while the fields that decide
    it are malformed (reported elsewhere)."""
    bins, points = f.get("bins"), f.get("points")
    window, aggregate = f.get("window_days"), f.get("aggregate")
    if (aggregate not in AGGREGATES or not isinstance(window, int) or isinstance(window, bool)
            or window <= 0 or not isinstance(bins, list) or not isinstance(points, list)
            or len(points) != len(bins) + 1 or not all(_is_int(p) for p in points)
            or not all(isinstance(e, int | float) and not isinstance(e, bool)
                       and math.isfinite(e) for e in bins)):
        return None
    return [points[b] for b in reachable_bins(bins, str(aggregate), window)]


def _check_tiers(tiers: Any, lo: int, problems: list[str]) -> None:
    if not isinstance(tiers, list) or not tiers:
        problems.append("tiers must be a non-empty list")
        return
    codes, mins = [], []
    for i, t in enumerate(tiers):
        where = f"tiers[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("code"), str) or not _is_int(
            t.get("min")
        ):
            problems.append(f"{where}: needs a code and an integer min")
            continue
        codes.append(t["code"])
        mins.append(t["min"])
        _check_texts(t, ("name",), where, problems)
    if len(set(codes)) != len(codes):
        problems.append("tiers: duplicate tier codes")
    if len(set(mins)) != len(mins):
        problems.append("tiers: duplicate minimum scores")
    if mins and min(mins) > lo:
        problems.append(f"tiers: the lowest tier starts at {min(mins)}, above the lowest "
                        f"achievable score {lo}")


def validate_spec(spec: Any) -> list[str]:
    """Every problem with a model spec; an empty list means it may be used."""
    if not isinstance(spec, dict):
        return ["spec must be a JSON object"]
    problems: list[str] = []
    _scan_banned(spec, "spec", problems)
    for key in sorted(spec.keys() - _TOP_KEYS):
        problems.append(f"unknown top-level field {key!r}")
    if not isinstance(spec.get("id"), str) or not re.match(r"^[a-z0-9][a-z0-9.\-_]*$",
                                                           spec.get("id") or ""):
        problems.append("id must be a lowercase slug such as 'pengcheng-v1'")
    if not isinstance(spec.get("version"), str | int) or isinstance(spec.get("version"), bool):
        problems.append("version is required")
    base_raw = spec.get("base_points")
    base: int = base_raw if isinstance(base_raw, int) and not isinstance(base_raw, bool) else 0
    if not _is_int(base_raw):
        problems.append("base_points must be an integer")
    dims_raw = spec.get("dimensions")
    dims: set[str] = set()
    if not isinstance(dims_raw, list) or not dims_raw:
        problems.append("dimensions must be a non-empty list")
    else:
        for i, d in enumerate(dims_raw):
            code = d.get("code") if isinstance(d, dict) else None
            if not isinstance(code, str) or not _CODE.match(code):
                problems.append(f"dimensions[{i}]: bad code {code!r}")
                continue
            if code in dims:
                problems.append(f"dimensions[{i}]: duplicate dimension code {code!r}")
            dims.add(code)
            _check_texts(d, ("name",), f"dimensions[{i}] ({code})", problems)
    features = spec.get("features")
    if not isinstance(features, list) or not features:
        problems.append("features must be a non-empty list")
        features = []
    seen: set[str] = set()
    lo = hi = base
    for i, f in enumerate(features):
        code = f.get("code") if isinstance(f, dict) else None
        where = f"features[{i}] ({code})"
        if not isinstance(code, str) or not _CODE.match(code):
            problems.append(f"{where}: bad code {code!r}")
        elif code in seen:
            problems.append(f"{where}: duplicate feature code {code!r}")
        else:
            seen.add(code)
        _check_feature(f, where, dims, problems)
        pts = _reachable_points(f) if isinstance(f, dict) else None
        if pts:
            unknown = f.get("unknown_points")
            pts += [unknown] if _is_int(unknown) else []
            lo, hi = lo + min(pts), hi + max(pts)
    if lo < SCORE_MIN or hi > SCORE_MAX:
        problems.append(f"achievable score range {lo}–{hi} is outside {SCORE_MIN}–{SCORE_MAX}")
    _check_tiers(spec.get("tiers"), lo, problems)
    return problems
