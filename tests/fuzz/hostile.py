"""Hypothesis strategies for what an attacker sends and default strategies never try (issue 21).

Each class draws a `Hostile` value: a Python value to put in a JSON body, query or path, or raw
JSON text (`raw`) for what Python cannot hold as a value (nesting deeper than its stack, number
literals past a double, NaN, a key twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

CLASSES = ("surrogate", "nul", "control", "nesting", "number", "date", "wrong_type",
           "duplicate_key")


@dataclass(frozen=True)
class Hostile:
    kind: str
    value: Any = None
    raw: str | None = None  # JSON text to splice in instead of `value`

    def query_text(self) -> str:
        """The value as a query or path parameter's text."""
        if self.raw is not None:
            return self.raw
        if isinstance(self.value, str):
            return self.value
        return json.dumps(self.value)


def _around(middle: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, m, b: a + m + b, st.text(max_size=6), middle, st.text(max_size=6))


SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
CONTROLS = st.one_of(st.characters(min_codepoint=1, max_codepoint=0x1F),
                     st.characters(min_codepoint=0x7F, max_codepoint=0x9F))


def _deep(levels: int, kind: str) -> str:
    if kind == "array":
        return "[" * levels + "]" * levels
    return '{"a":' * levels + "0" + "}" * levels


NUMBER_LITERALS = ["1e999", "-1e999", "9" * 5000, "-" + "9" * 4400, "1e-400", "5e-324", "-0",
                   "0", "-1", "2147483648", "9223372036854775808", "-9223372036854775809",
                   "9007199254740993", "1.7976931348623157e308", "NaN", "Infinity"]
EDGE_DATES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "00010101T000000+1400",
              "99991231T235959-1400", "0001-01-01", "9999-12-31", "1899-12-31T23:59:59Z",
              "2201-01-01T00:00:00Z", "0000-00-00", "2026-02-30T00:00:00Z",
              "2026-11-20T08:00:00+24:00"]
WRONG_TYPES: list[Any] = [None, True, False, [], {}, [None, None], 0, -1, 1.5, "", "x" * 5000,
                          {"a": 1}, ["a"]]

STRATEGIES: dict[str, st.SearchStrategy[Hostile]] = {
    "surrogate": _around(SURROGATES).map(lambda s: Hostile("surrogate", s)),
    "nul": _around(st.just("\x00")).map(lambda s: Hostile("nul", s)),
    "control": _around(CONTROLS).map(lambda s: Hostile("control", s)),
    "nesting": st.builds(lambda n, k: Hostile("nesting", raw=_deep(n, k)),
                         st.integers(33, 1500), st.sampled_from(["array", "object"])),
    "number": st.one_of(
        st.sampled_from(NUMBER_LITERALS).map(lambda r: Hostile("number", raw=r)),
        st.integers(min_value=2**53, max_value=10**40).map(lambda n: Hostile("number", n)),
        st.integers(max_value=-(2**53), min_value=-(10**40)).map(lambda n: Hostile("number", n)),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Hostile("number", f))),
    "date": st.one_of(
        st.sampled_from(EDGE_DATES),
        st.builds(lambda d, h: d.isoformat() + h,
                  st.datetimes(max_value=datetime(9999, 12, 31)),
                  st.sampled_from(["+14:00", "-14:00", "Z", ""]))
    ).map(lambda s: Hostile("date", s)),
    "wrong_type": st.sampled_from(WRONG_TYPES).map(lambda v: Hostile("wrong_type", v)),
    "duplicate_key": st.sampled_from(WRONG_TYPES[:9] + ["x", 1]).map(
        lambda v: Hostile("duplicate_key", v)),
}
