"""What text and JSON the service accepts from outside: the rules, in one place.

Design overview
---------------
* PostgreSQL text cannot hold NUL (U+0000); UTF-8 cannot encode a lone UTF-16 surrogate, which
  JSON lets through as `"\\ud800"`; other control characters have no place in any field of this
  API. A string carrying one is refused where it enters (`app.safe_input` for requests,
  `rewards.token_format` for a token's header and claims), before it is hashed, stored, logged or
  compared.
* Free text (a reason, a note, an item) may carry TAB, LF and CR. Names and identifiers may not:
  object keys, and fields named like identifiers (`out_*_no`, `*_id`, `token`, `scenario`, …;
  `strict_field`).
* JSON documents: UTF-8, keys unique within an object, nesting at most `MAX_DEPTH` levels,
  numbers finite and integers within ±(2**53 - 1) (I-JSON, RFC 7493): every value this service
  stores fits, and every partner's JSON library reads it back unchanged.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
# C0 controls but TAB, LF, CR; DEL and the C1 controls; every surrogate code point.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_STRICT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_STRICT_NAMES = re.compile(
    r"^(?:out_\w+_no|\w*_id|id|ids|code|token|scenario|partner|kid|alg|typ|jti|sub|aud|iss|scn"
    r"|source_record_id|id_number|category|type|kind|purpose|language|lang|channel)$")


class MalformedJson(ValueError):
    """The bytes are not one JSON document this service reads (the message says why)."""


def strict_field(name: str) -> bool:
    """Whether the field named `name` is an identifier (no TAB, LF or CR either)."""
    return bool(_STRICT_NAMES.match(name))


def text_problem(text: str, *, strict: bool = True) -> str | None:
    """Why `text` is refused (the first character that is not allowed), or None."""
    found = (_FORBIDDEN_STRICT if strict else _FORBIDDEN).search(text)
    if found is None:
        return None
    char = ord(found.group())
    if char == 0:
        return "text must not contain NUL (U+0000)"
    if 0xD800 <= char <= 0xDFFF:
        return f"text must not contain a lone UTF-16 surrogate (U+{char:04X})"
    return f"text must not contain the control character U+{char:04X}"


def loads(data: bytes) -> Any:
    """One JSON document from UTF-8 bytes: duplicate keys, NaN/Infinity and nesting that
    exhausts the parser are refused (`MalformedJson`)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"the body is not UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
    except RecursionError as exc:
        raise MalformedJson(f"JSON is nested deeper than {MAX_DEPTH} levels") from exc
    except MalformedJson:
        raise
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python reads
        raise MalformedJson(f"the body is not valid JSON: {str(exc)[:120]}") from exc


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedJson(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON number")


def problems(document: Any, *, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted field path, why) for every value of a parsed JSON document the rules refuse.

    Raises `MalformedJson` if the document is nested deeper than `MAX_DEPTH`. Walks without
    recursion, so no depth can exhaust the stack here.
    """
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, str, Any, int]] = [(prefix, prefix, document, 1)]
    while stack:
        path, name, value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise MalformedJson(f"JSON is nested deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    why = text_problem(key)
                    if why:
                        found.append((_join(path, repr(key)), f"a field name: {why}"))
                        continue
                    child_name = key
                else:
                    child_name = name  # a list's items are read as their list's field
                stack.append((_join(path, str(key)), child_name, item, depth + 1))
        elif isinstance(value, str):
            why = text_problem(value, strict=strict_field(name))
            if why:
                found.append((path or "(body)", why))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append((path or "(body)", "the number is out of range"))
        elif isinstance(value, int) and not isinstance(value, bool) and (
                abs(value) > MAX_SAFE_INTEGER):
            found.append((path or "(body)", f"integers must lie within ±{MAX_SAFE_INTEGER}"))
    return sorted(found)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
