"""The batch path's new score rows: their inputs, the inputs' hashes, and the COPY that
writes them.

`stored_inputs_many` builds `scoring.explain.stored_inputs`' JSON text and hash for a whole
chunk a column at a time (one template, only the categories and feature values written per
resident); `write_scores` writes the chunk's rows with one ``COPY`` whose text is built here
rather than by psycopg, value by value. Both are equal to the one-resident forms (tested:
`tests/unit/scoring/test_batch_by_type.py`).

Kept apart from `scoring.batch`, which pages, reads and scores the residents, because this is
a different job — turning a scored chunk into text exactly as the single path would write it —
and the two together outgrew a module.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from core.registry import CATEGORIES
from scoring.codes import NO_END
from scoring.features import from_epoch
from scoring.spec import Model

SCORE_COLUMNS = ("id", "resident_id", "model_id", "score", "tier", "computed_at",
                 "basis_version", "inputs", "inputs_hash", "explanation", "trigger",
                 "valid_until")


def _json(value: Any) -> str:
    """`core.canonical.canonical` as text, for the constant parts of the inputs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


_SMALL = [str(i) for i in range(10_000)] + ["null"]  # the JSON of small whole numbers, and NaN
_NULL = len(_SMALL) - 1


def _json_numbers(column: np.ndarray) -> list[str]:
    """The JSON of each value of a feature column as `scoring.explain.canonical_inputs` writes
    it: NaN as null, a whole number below 2**53 as an integer, any other as Python's repr (the
    float's shortest form); infinity raises ValueError as `core.canonical.canonical` does."""
    small = (column >= 0) & (column < _NULL) & (column == np.trunc(column))  # False for NaN
    text = list(map(_SMALL.__getitem__,
                    np.where(small, column, _NULL).astype(np.int64).tolist()))
    for i in np.flatnonzero(~small & ~np.isnan(column)).tolist():
        v = float(column[i])
        if math.isinf(v):
            raise ValueError("Out of range float values are not JSON compliant")
        text[i] = str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    return text


def stored_inputs_many(model: Model, x: np.ndarray, consented: Sequence[frozenset[str]],
                       as_of: int) -> tuple[list[str], list[str]]:
    """`scoring.explain.stored_inputs` of each row of a feature matrix: the same JSON text and
    the same hash (tested), built a column at a time.

    Every resident's inputs are one template, sorted keys and all: only the categories and
    the feature values differ, so those are the only parts written per resident."""
    def lit(text: str) -> str:
        return text.replace("%", "%%")

    by_code = sorted(model.features, key=lambda f: f.code)
    template = (lit('{"as_of":' + _json(from_epoch(as_of).isoformat().replace("+00:00", "Z"))
                    + ',"consented_categories":') + "%s"
                + lit(',"features":{')
                + ",".join(lit(_json(f.code) + ":") + "%s" for f in by_code)
                + lit('},"model":' + _json(model.id) + ',"model_hash":' + _json(model.hash) + "}"))
    lists: dict[frozenset[str], str] = {}
    for chosen in consented:
        if chosen not in lists:
            lists[chosen] = _json([c for c in CATEGORIES if c in chosen])
    texts = [template % row for row in zip(
        [lists[c] for c in consented], *(_json_numbers(x[:, f.index]) for f in by_code),
        strict=True)]
    return texts, [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest()
                   for t in texts]


def _copy_text(value: str) -> str:
    """A value for COPY's text format (JSON text has no raw tab or newline: only backslashes)."""
    return value.replace("\\", "\\\\")


def new_ids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs as 32 hex digits, drawn at once."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    digits = raw.tobytes().hex()
    return [digits[i:i + 32] for i in range(0, 32 * n, 32)]


def write_scores(session: Session, model: Model, now: datetime,
                 todo: Sequence[tuple[uuid.UUID, int, frozenset[str]]], scores: Sequence[int],
                 inputs: Sequence[str], digests: Sequence[str], until: np.ndarray) -> None:
    """Insert one row per resident of `todo` (resident id, score version, categories) with one
    COPY: a new id, its score and that score's tier, its inputs as JSON text and their hash, no
    explanation, and ``valid_until`` from `until` (epoch seconds; `NO_END`: none).

    The COPY text is written here a chunk at a time (psycopg's rows would format every value
    of every row one by one)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    tiers = {s: _copy_text(model.tier_for(s).code) for s in set(scores)}
    ends = np.datetime_as_string(np.where(until >= NO_END, 0, until).astype("datetime64[s]"),
                                 timezone="UTC").tolist()
    line = "\t".join(("%s", "%s", _copy_text(model.id).replace("%", "%%"), "%d", "%s",
                      now.isoformat(), "%d", "%s", "%s", "\\N", "batch", "%s")) + "\n"
    text = "".join([line % (
        rowid, rid.hex, score, tiers[score], version, _copy_text(doc), digest,
        "\\N" if edge >= NO_END else end)
        for rowid, (rid, version, _), score, doc, digest, edge, end in zip(
            new_ids(len(todo)), todo, scores, inputs, digests, until.tolist(), ends,
            strict=True)])
    with raw.cursor() as cur, cur.copy(
            f"COPY scores ({', '.join(SCORE_COLUMNS)}) FROM STDIN") as copy:
        copy.write(text)
