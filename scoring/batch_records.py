"""The batch path's read of a chunk's records: one query, parsed by numpy into a `ByType` batch.

`records_batch` is what `scoring.batch` scores a chunk from (and what the outcome and integrity
checks read records with): the same values `scoring.features.batch_from_records` builds for
one resident, read for thousands at once. Kept apart from `scoring.batch`, which pages,
checks consents and currency, and writes: this module is the one that knows how the database
sends records (the query, its binary rows, the times it stores).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
from sqlalchemy.orm import Session

from core.db import uuid_array_text
from core.registry import record_type
from scoring.codes import (
    ACTIVE,
    NO_END,
    NO_SEVERITY,
    SEVERITY_INDEX,
    TYPE_CATEGORY,
    TYPE_INDEX,
    TYPE_KEYS,
)
from scoring.features import ByType, RecordBatch, in_type_order, publicity_seconds

NULL_TIME = np.iinfo(np.int64).min  # "no publicity end stored" in the fetched epoch column


def _default_severity(category: str, type_: str) -> int:
    rt = record_type(category, type_)
    assert rt is not None
    return SEVERITY_INDEX[rt.default_severity] if rt.default_severity else NO_SEVERITY


# Lookup tables: default severity by type index, publicity period by severity, category by type.
_DEFAULT_SEVERITY = np.array([_default_severity(c, t) for c, t in TYPE_KEYS], dtype=np.int8)
_PUBLICITY = np.array([publicity_seconds(s) for s in SEVERITY_INDEX], dtype=np.int64)
_TYPE_CATEGORY = np.array(TYPE_CATEGORY, dtype=np.int8)
_SEVERITY_CODE: dict[str | None, int] = {None: NO_SEVERITY}
_SEVERITY_CODE.update(SEVERITY_INDEX)

# PostgreSQL: the chunk's active records, one row per record type, each type's records as one
# bytea of fixed-width big-endian rows parsed by numpy in one go (a binary COPY would be one
# message, so one Python iteration, per record). Grouping by type is the order `ByType` wants:
# the hash aggregate appends each type's records in the order the probes read them, so by
# resident (`records_batch` checks it and sorts only if not), and its (category, type) key
# replaces a join with the registry. The database packs the resident's row in the chunk
# (bits 4 up), "disputed, its deadline sent as its publicity end, which it has none of" (bit 3)
# and the severity index + 1 (0: none; bits 0-2) into one int8. A disputed record's open
# dispute is looked up only for disputed records (a subquery, not a join every record probes);
# its deadline goes out as the record's publicity end, or the earlier of the two. Times go out
# as stored (int8 microseconds since 2000-01-01; -infinity for none). Each resident's records
# are one probe of the (resident_id, occurred_at) index: the lateral subquery (OFFSET 0 keeps
# it one) stops the planner from hashing the whole table when a chunk is a large share of it.
# No JIT: compiling costs more than the scan it would speed up.
_PG_RECORDS = """
SELECT r.category, r.type, string_agg(
         int8send((t.i - 1) * 16
                  + CASE WHEN r.due IS NOT NULL AND r.publicity_ends_at IS NULL THEN 8
                         ELSE 0 END
                  + CASE r.severity WHEN 'minor' THEN 1 WHEN 'general' THEN 2
                                    WHEN 'serious' THEN 3 ELSE 0 END)
         || timestamptz_send(r.occurred_at)
         || int8send(coalesce(r.amount_fen, 0)) || float8send(coalesce(r.quantity, 0))
         || timestamptz_send(coalesce(least(r.publicity_ends_at, r.due), '-infinity')), '')
FROM unnest(%(ids)t::uuid[]) WITH ORDINALITY AS t(id, i)
CROSS JOIN LATERAL (
  SELECT category, type, occurred_at, amount_fen, quantity, severity, status,
         publicity_ends_at, CASE WHEN status = 'disputed' THEN (
              SELECT due_at FROM disputes d WHERE d.record_id = records.id AND d.status = 'open')
            END AS due
  FROM records WHERE resident_id = t.id OFFSET 0) r
WHERE r.status = 'active' OR r.due IS NOT NULL
GROUP BY r.category, r.type
"""
assert len(SEVERITY_INDEX) < 2**3 - 1  # severities fit their bits
_PG_ROW = np.dtype([("packed", ">i8"), ("occurred_at", ">i8"), ("amount_fen", ">i8"),
                    ("quantity", ">f8"), ("publicity_ends_at", ">i8")])
_PG_EPOCH_US = 946_684_800 * 10**6  # 2000-01-01 in microseconds since 1970-01-01
_PG_MINUS_INFINITY = np.iinfo(np.int64).min


def _seconds(us: np.ndarray) -> np.ndarray:
    """Epoch seconds from PostgreSQL's microseconds since 2000, truncated toward zero like
    ``int(dt.timestamp())``; -infinity (no time) becomes `NULL_TIME`.

    The column comes big-endian and strided (a field of the fetched rows): it is made native
    once, and divided once (flooring is truncating for the times after 1970 that are almost
    all of them; the few before are corrected)."""
    native = us.astype(np.int64)
    none = native == _PG_MINUS_INFINITY
    e = native + _PG_EPOCH_US  # wraps round at -infinity: replaced below
    out = e // 10**6
    before = (e < 0) & ~none
    if before.any():
        out[before] = -(-e[before] // 10**6)
    out[none] = NULL_TIME
    return out


def records_batch(session: Session, resident_ids: Sequence[uuid.UUID]) -> ByType:
    """The active records of these residents as one `ByType` batch (row i = resident_ids[i]).

    The same values `scoring.features.batch_from_records` builds for one resident: a missing
    severity is the type's default, a missing publicity end is the severity's maximum period
    after the record (or none without a severity), missing amounts and quantities are 0; a
    record under dispute counts until its open dispute's deadline (its publicity end brought
    forward to it, as `batch_from_records` does with `counts_until`).
    """
    cols = _fetch(session, resident_ids)
    if cols is None:
        return ByType.empty()
    row, types, occ, amount, quantity, sev, end, disputed = cols
    sev = np.where(sev == NO_SEVERITY, _DEFAULT_SEVERITY[types], sev).astype(np.int8)
    missing = (end == NULL_TIME) | disputed
    default = np.where(sev[missing] >= 0, occ[missing] + _PUBLICITY[sev[missing]], NO_END)
    # a disputed record without a publicity end came with its deadline in its place
    end[missing] = np.where(disputed[missing], np.minimum(default, end[missing]), default)
    batch = ByType(
        resident=row, category=_TYPE_CATEGORY[types], type=types, occurred_at=occ,
        amount_fen=amount, quantity=quantity, severity=sev,
        status=np.full(len(row), ACTIVE, dtype=np.int8), publicity_ends_at=end)
    if not in_type_order(batch):  # a plan that reorders within a group: sort, same batch
        order = np.lexsort((row, types))
        batch = ByType(*(getattr(batch, k)[order] for k in RecordBatch.__dataclass_fields__))
    return batch


def _fetch(session: Session, resident_ids: Sequence[uuid.UUID]
           ) -> tuple[np.ndarray, ...] | None:
    """The chunk's record columns, by type (the registry's order), then as the database sent
    them; None without records."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor(binary=True) as cur:
        cur.execute("SET LOCAL jit = off")
        # Never prepared: psycopg prepares a statement on its sixth run, and PostgreSQL then
        # plans it once for any array — a plan that sorts the chunk's ~300,000 records on
        # disk (~20 MB past work_mem) instead of hashing them by type, ~40 % more of its time
        # and out of resident order. Planned for each chunk's array instead: ~5 ms a chunk.
        groups = cur.execute(_PG_RECORDS, {"ids": uuid_array_text(resident_ids)},
                             prepare=False).fetchall()
    if not groups:
        return None
    try:
        groups.sort(key=lambda g: TYPE_INDEX[g[0], g[1]])
    except KeyError:
        raise ValueError("a record has an unregistered category/type") from None
    rows = np.frombuffer(b"".join(g[2] for g in groups), dtype=_PG_ROW)
    types = np.repeat(np.array([TYPE_INDEX[g[0], g[1]] for g in groups], dtype=np.int16),
                      [len(g[2]) // _PG_ROW.itemsize for g in groups])
    packed = rows["packed"].astype(np.int64)
    return (packed >> 4, types,
            _seconds(rows["occurred_at"]), rows["amount_fen"].astype(np.int64),
            rows["quantity"].astype(np.float64), (packed & 0x7) - 1,
            _seconds(rows["publicity_ends_at"]), (packed & 0x8) != 0)
