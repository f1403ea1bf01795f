"""json and jsonb columns are parsed by orjson (`core.db.make_engine`): the values must be the
ones the standard library gives for every document this service stores — what passes
`core.safe_text` (integers within ±2**53 - 1, finite numbers, any text it allows) and what the
service writes itself (`json.dumps`, ASCII-escaped or not)."""

from __future__ import annotations

import json

import orjson
from hypothesis import given
from hypothesis import strategies as st

from core.db import make_engine
from core.safe_text import MAX_SAFE_INTEGER, problems

_SCALARS = (st.none() | st.booleans()
            | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text())
DOCUMENTS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


def _same(a: object, b: object) -> bool:
    """Equal, and of the same types throughout (1 and 1.0 and True differ here; no NaN is
    generated, so `==` serves for floats)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    return a == b


@given(DOCUMENTS, st.booleans())
def test_orjson_reads_what_the_standard_library_reads(document: object, ascii_only: bool) -> None:
    if problems(document):  # refused at the door; never stored
        return
    text = json.dumps(document, ensure_ascii=ascii_only)
    assert _same(orjson.loads(text.encode()), json.loads(text))


def test_duplicate_keys_keep_the_last_value_in_both() -> None:
    """The json type keeps text as written; the service never writes a key twice, but a
    duplicate would read the same either way."""
    text = '{"a": 1, "a": 2}'
    assert orjson.loads(text) == json.loads(text) == {"a": 2}


def test_the_engine_parses_json_with_orjson() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    assert engine.dialect._json_deserializer is orjson.loads  # type: ignore[attr-defined]
