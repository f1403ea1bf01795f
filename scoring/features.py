"""Features from records: ONE vectorized numpy implementation for one resident or millions.

Input is a columnar `RecordBatch` sorted by resident row (``resident`` non-decreasing), or a
`ByType` batch (by type, then resident: what the batch path's query delivers), plus a
consent mask (n_residents × n_categories bool, columns in `scoring.codes.CATEGORY_CODES` order)
and an ``as_of`` instant (int epoch seconds, UTC). A record counts only when it is active
(not disputed, repaired, expired or removed), occurred at or before ``as_of`` and inside the
feature's window, its publicity has not ended, and its category is consented. The result is a
float64 matrix (n_residents × n_features); NaN means "unknown": the category is not consented
(which `scoring_scope` makes impossible for a core category).

Aggregates (per resident, over the counting records of the feature's types in its window):
``count``, ``exists`` (0/1), ``sum_amount`` (fen), ``sum_quantity``, ``months_since_last``
(whole average months since the latest; with none in the window, the window length in months
rounded up — "at least this long"), ``worst_severity`` (0 minor, 1 general, 2 serious; -1 none).

`batch_from_records` builds the batch for one resident from plain record dicts or objects, so the
single-resident path runs exactly this code with n_residents = 1.

A record under dispute (status ``disputed``, 异议标注) keeps counting until its dispute's deadline
(``counts_until``, the open dispute's ``due_at``) and stops counting from the deadline on; the
batch carries it as active with its publicity end brought forward to the deadline, so the same
edges (`next_change`) hold. A disputed record without a deadline does not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

import numpy as np

from core.registry import CORE, PUBLICITY, record_type
from scoring.codes import (
    ACTIVE,
    CATEGORY_CODES,
    CATEGORY_INDEX,
    NO_END,
    NO_SEVERITY,
    SECONDS_PER_DAY,
    SECONDS_PER_MONTH,
    SEVERITY_INDEX,
    STATUS_INDEX,
    TYPE_INDEX,
    TYPE_KEYS,
)
from scoring.spec import Feature, Model, never_months


@dataclass
class RecordBatch:
    """Records as columns, sorted by ``resident`` (row index into the consent mask)."""

    resident: np.ndarray  # int32/int64, non-decreasing
    category: np.ndarray  # int8/int16, index into CATEGORY_CODES
    type: np.ndarray  # int16, index into TYPE_KEYS
    occurred_at: np.ndarray  # int64 epoch seconds UTC
    amount_fen: np.ndarray  # int64 (0 when absent)
    quantity: np.ndarray  # float64 (0 when absent)
    severity: np.ndarray  # int8, NO_SEVERITY (-1) when absent
    status: np.ndarray  # int8 index into RECORD_STATUSES, or bool "counts" (already filtered)
    publicity_ends_at: np.ndarray  # int64 epoch seconds, NO_END when none

    def __len__(self) -> int:
        return int(self.resident.shape[0])

    @classmethod
    def empty(cls) -> Self:
        """A batch with no records."""
        return cls(*(np.zeros(0, dtype=d) for d in (
            np.int64, np.int8, np.int16, np.int64, np.int64, np.float64, np.int8, np.int8,
            np.int64)))


class ByType(RecordBatch):
    """The same columns ordered by type, then resident: ``type`` non-decreasing and each type's
    records in resident order (``resident`` non-decreasing within a type, not overall).

    The order a source can deliver at no cost (the batch path's query groups its records by
    type) and the one features read best: a feature's records are its types' contiguous runs,
    so `compute_features` and `next_change` need no sort to find them. Same results as the
    `RecordBatch` of the same records (`tests/unit/scoring/test_batch_by_type.py`)."""


def by_type(batch: RecordBatch) -> ByType:
    """The batch reordered by type; a stable sort keeps each type's records in resident order."""
    order = np.argsort(batch.type, kind="stable")
    return ByType(*(getattr(batch, k)[order] for k in RecordBatch.__dataclass_fields__))


def _type_bounds(types: np.ndarray) -> np.ndarray:
    """Where each type's run starts in a `ByType` column of types (type t: bounds[t:t + 2])."""
    return np.searchsorted(types, np.arange(len(TYPE_KEYS) + 1, dtype=types.dtype))


def in_type_order(batch: RecordBatch) -> bool:
    """Whether the records are in the `ByType` order: by type, then by resident."""
    t, r = batch.type, batch.resident
    if len(batch) < 2:
        return True
    if np.any(t[1:] < t[:-1]):
        return False
    # the resident column may step down only where a type's run begins
    down = np.flatnonzero(r[1:] < r[:-1]) + 1
    return bool(np.isin(down, _type_bounds(t)).all())


def to_epoch(value: datetime | str | int | float) -> int:
    """Epoch seconds (UTC) from an aware datetime, an ISO 8601 string or a number."""
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive datetime: times must carry a timezone (UTC)")
    return int(value.timestamp())


def from_epoch(seconds: int) -> datetime:
    """The aware UTC datetime for epoch seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def publicity_seconds(severity: str) -> int:
    """The maximum publicity period of a severity class, in seconds (信用修复管理办法)."""
    return int(PUBLICITY[severity][1].total_seconds())


def _get(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, Mapping) else getattr(record, key, None)


def batch_from_records(records: Iterable[Any], resident: int = 0) -> RecordBatch:
    """The columnar batch for one resident's records (dicts or objects with the record fields).

    Fields: category, type, occurred_at (aware datetime, ISO string or epoch), amount_fen,
    quantity, severity (code or None: the type's default), status (default "active"),
    publicity_ends_at (None: the severity's maximum publicity period after occurred_at for a
    record with a severity, no end otherwise), counts_until (a disputed record's deadline: it
    counts as active until then; see the module docstring). Unknown categories/types raise
    ValueError.
    """
    rows = []
    for r in records:
        category, type_ = _get(r, "category"), _get(r, "type")
        rt = record_type(category, type_)
        if rt is None:
            raise ValueError(f"unregistered record type {category}.{type_}")
        severity = _get(r, "severity") or rt.default_severity
        ends = _get(r, "publicity_ends_at")
        if ends is None and severity:
            ends = to_epoch(_get(r, "occurred_at")) + publicity_seconds(severity)
        status = _get(r, "status") or "active"
        until = _get(r, "counts_until")
        if status == "disputed" and until is not None:  # counts until the deadline
            status = "active"
            ends = to_epoch(until) if ends is None else min(to_epoch(ends), to_epoch(until))
        rows.append((
            CATEGORY_INDEX[category],
            TYPE_INDEX[(category, type_)],
            to_epoch(_get(r, "occurred_at")),
            int(_get(r, "amount_fen") or 0),
            float(_get(r, "quantity") or 0.0),
            SEVERITY_INDEX[severity] if severity else NO_SEVERITY,
            STATUS_INDEX[status],
            NO_END if ends is None else to_epoch(ends),
        ))
    if not rows:
        return RecordBatch.empty()
    cols = list(zip(*rows, strict=True))
    return RecordBatch(
        resident=np.full(len(rows), resident, dtype=np.int64),
        category=np.array(cols[0], dtype=np.int8),
        type=np.array(cols[1], dtype=np.int16),
        occurred_at=np.array(cols[2], dtype=np.int64),
        amount_fen=np.array(cols[3], dtype=np.int64),
        quantity=np.array(cols[4], dtype=np.float64),
        severity=np.array(cols[5], dtype=np.int8),
        status=np.array(cols[6], dtype=np.int8),
        publicity_ends_at=np.array(cols[7], dtype=np.int64),
    )


def scoring_scope(consented: Iterable[str]) -> frozenset[str]:
    """The categories a scoring consent lets a model read: the supplements the resident chose
    and, always, the core — a resident with no core records has a clean core record."""
    return frozenset(consented) | CORE


def consent_row(categories: Iterable[str]) -> np.ndarray:
    """A one-resident consent mask (1 × n_categories) from category codes."""
    chosen = set(categories)
    return np.array([[c in chosen for c in CATEGORY_CODES]], dtype=bool)


def consented_codes(mask_row: np.ndarray) -> list[str]:
    """Category codes set in one row of a consent mask, in registry order."""
    return [c for c, ok in zip(CATEGORY_CODES, mask_row.tolist(), strict=True) if ok]


def counting_mask(batch: RecordBatch, consent: np.ndarray, as_of: int) -> np.ndarray:
    """Which records may count at ``as_of``: active, not in the future, publicity not ended,
    category consented for that resident."""
    return _live(batch, as_of) & consent[batch.resident, batch.category]


def _live(batch: RecordBatch, as_of: int) -> np.ndarray:
    """`counting_mask` before consent: active, not in the future, publicity not ended."""
    if batch.status.dtype == np.bool_:
        ok = batch.status.copy()
    else:
        ok = batch.status == ACTIVE
    ok &= batch.occurred_at <= as_of
    ok &= batch.publicity_ends_at > as_of
    return ok


def next_change(model: Model, batch: RecordBatch, consent: np.ndarray, as_of: int
                ) -> np.ndarray:
    """Per resident (int64 epoch seconds), the first instant after ``as_of`` at which
    `compute_features` may answer differently for the same records and consents; `NO_END`
    when time alone changes nothing.

    Every time condition has its edge at a known instant: a record not yet counting starts at
    its ``occurred_at``; a record inside a feature stops counting there when its publicity ends
    or it leaves the feature's window; a ``months_since_last`` feature steps a whole month
    after the latest record it counts. Records that count in no feature are no edge (a
    resident with years of records would otherwise be rescored every few hours)."""
    consent = np.asarray(consent, dtype=bool)
    n = consent.shape[0]
    out = np.full(n, NO_END, dtype=np.int64)
    live = batch.status.copy() if batch.status.dtype == np.bool_ else batch.status == ACTIVE
    live &= consent[batch.resident, batch.category]
    first = np.where(live & (batch.occurred_at > as_of), batch.occurred_at, NO_END)
    for f, sel in _feature_selections(model, batch, counting_mask(batch, consent, as_of),
                                      as_of):
        leaves = np.minimum(batch.occurred_at[sel] + f.window_days * SECONDS_PER_DAY,
                            batch.publicity_ends_at[sel])
        first[sel] = np.minimum(first[sel], leaves)
        if f.aggregate == "months_since_last":
            last = _latest(batch, sel, n)
            seen = last != NO_LAST
            steps = ((as_of - last[seen]) // SECONDS_PER_MONTH + 1) * SECONDS_PER_MONTH
            out[seen] = np.minimum(out[seen], last[seen] + steps)
    by_record = np.full(n, NO_END, dtype=np.int64)
    if isinstance(batch, ByType):  # a resident's records are one run per type: combine them
        _runs_reduce(np.minimum, batch.resident, first, by_record)
    else:
        _group_reduce(np.minimum, batch.resident, first, by_record)
    return np.minimum(out, by_record)


def valid_until(model: Model, records: Iterable[Any], consented: Iterable[str],
                as_of: int | datetime) -> datetime | None:
    """`next_change` for one resident's plain records (None: time alone changes nothing)."""
    edge = int(next_change(model, batch_from_records(records), consent_row(consented),
                           to_epoch(as_of))[0])
    return None if edge >= NO_END else from_epoch(edge)


NO_LAST = np.iinfo(np.int64).min  # "no record" in a per-resident latest-record column


def _group_reduce(ufunc: np.ufunc, rows: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """out[row] = ufunc.reduce(values of that row) for rows sorted ascending (in place)."""
    if rows.size == 0:
        return
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    out[rows[starts]] = ufunc.reduceat(values, starts)


def _runs_reduce(ufunc: np.ufunc, rows: np.ndarray, values: np.ndarray, out: np.ndarray
                 ) -> None:
    """out[row] = ufunc(out[row], values of that row) for rows in runs that may repeat."""
    if rows.size == 0:
        return
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    ufunc.at(out, rows[starts], ufunc.reduceat(values, starts))


def _aggregate(f: Feature, batch: RecordBatch, sel: np.ndarray, n: int, as_of: int) -> np.ndarray:
    rows = batch.resident[sel]
    agg = f.aggregate
    if agg in ("count", "exists"):
        v = np.bincount(rows, minlength=n).astype(np.float64)
        return np.minimum(v, 1.0) if agg == "exists" else v
    # (bincount returns int64 when there are no weights at all, hence the casts)
    if agg == "sum_amount":
        return np.bincount(rows, weights=batch.amount_fen[sel].astype(np.float64),
                           minlength=n).astype(np.float64, copy=False)
    if agg == "sum_quantity":
        return np.bincount(rows, weights=batch.quantity[sel].astype(np.float64),
                           minlength=n).astype(np.float64, copy=False)
    if agg == "worst_severity":
        worst = np.full(n, NO_SEVERITY, dtype=np.int8)
        _group_reduce(np.maximum, rows, batch.severity[sel], worst)
        return worst.astype(np.float64)
    # months_since_last
    last = _latest(batch, sel, n)
    months = np.full(n, float(never_months(f.window_days)))
    seen = last != NO_LAST
    months[seen] = ((as_of - last[seen]) // SECONDS_PER_MONTH).astype(np.float64)
    return months


def _latest(batch: RecordBatch, sel: np.ndarray, n: int) -> np.ndarray:
    """Per resident, the latest ``occurred_at`` among the selected records (`NO_LAST`: none)."""
    last = np.full(n, NO_LAST, dtype=np.int64)
    _group_reduce(np.maximum, batch.resident[sel], batch.occurred_at[sel], last)
    return last


def _feature_selections(model: Model, batch: RecordBatch, ok: np.ndarray, as_of: int
                        ) -> Iterator[tuple[Feature, np.ndarray]]:
    """Each feature, and which of the counting records `ok` it counts at ``as_of`` (its types,
    inside its window) as record indices in record order (so by resident).

    The counting records are grouped by type once (a stable radix sort keeps each type's
    records in resident order), so a feature looks only at the records of its own types; a
    `ByType` batch is grouped already."""
    if isinstance(batch, ByType):
        yield from _by_type_selections(model, batch, ok, as_of)
        return
    counted = np.flatnonzero(ok)
    types = batch.type[counted]
    by_type = counted[np.argsort(types, kind="stable")]
    occurred = batch.occurred_at[by_type]
    bounds = np.concatenate(([0], np.cumsum(np.bincount(types, minlength=len(TYPE_KEYS)))))
    for f in model.features:
        start = as_of - f.window_days * SECONDS_PER_DAY
        parts = [by_type[lo:hi][occurred[lo:hi] > start]
                 for lo, hi in ((bounds[t], bounds[t + 1]) for t in f.type_indices)]
        yield f, parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))


def _by_type_selections(model: Model, batch: ByType, ok: np.ndarray, as_of: int
                        ) -> Iterator[tuple[Feature, np.ndarray]]:
    """`_feature_selections` of a `ByType` batch: each type's records are one run already."""
    bounds = _type_bounds(batch.type)
    runs: dict[tuple[int, int], np.ndarray] = {}  # features often share a type and window
    for f in model.features:
        start = as_of - f.window_days * SECONDS_PER_DAY
        parts = []
        for t in f.type_indices:
            if (t, start) not in runs:
                lo, hi = int(bounds[t]), int(bounds[t + 1])
                inside = ok[lo:hi] & (batch.occurred_at[lo:hi] > start)
                runs[t, start] = np.flatnonzero(inside) + lo
            parts.append(runs[t, start])
        if len(parts) == 1:
            yield f, parts[0]
        else:  # runs of several types, merged into resident order (a stable merge of runs)
            sel = np.concatenate(parts)
            yield f, sel[np.argsort(batch.resident[sel], kind="stable")]


def compute_features(model: Model, batch: RecordBatch, consent: np.ndarray,
                     as_of: int) -> np.ndarray:
    """The feature matrix (n_residents × n_features, float64; NaN = not consented).

    `batch` is sorted by resident, or a `ByType` batch (by type, then resident)."""
    consent = np.asarray(consent, dtype=bool)
    n = consent.shape[0]
    if isinstance(batch, ByType):
        if not in_type_order(batch):
            raise ValueError("records must be sorted by type, then by resident")
    elif len(batch) and np.any(batch.resident[1:] < batch.resident[:-1]):
        raise ValueError("records must be sorted by resident")
    out = np.empty((n, len(model.features)), dtype=np.float64)
    # a feature reads one category and its column is NaN where that is not consented, so the
    # records need no consent filter here (`counting_mask` without its per-record lookup)
    for f, sel in _feature_selections(model, batch, _live(batch, as_of), as_of):
        col = _aggregate(f, batch, sel, n, as_of)
        col[~consent[:, f.category_index]] = np.nan
        out[:, f.index] = col
    return out
