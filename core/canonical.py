"""Canonical JSON: the one byte form every hash and signature of this service is taken over.

Sorted keys, no whitespace, text as UTF-8 (never `\\u` escapes), integers as digits, floats as
Python's shortest repr, and no NaN or infinity (they are not JSON). Anyone can recompute it:
`json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()`.

    digest = hashlib.sha256(canonical(notice_document)).hexdigest()

It covers notices (`consent.notices`), the audit chain (`core.audit`), signed reports
(`reports.signing`), model specs and score inputs (`scoring.spec`) and the idempotency body
hash (`core.idempotency`, with `default=str` for values JSON has no type for).

`SPACED_ASCII` is the one exception, kept because stored values were made with it: the scenario
digests (`spec_sha256`, `before_sha256`) that `rewards.scenarios` writes into audit entries
were taken over `json.dumps(spec, sort_keys=True)` — spaces after `,` and `:`, `\\u` escapes.
A new form would make an unchanged scenario look changed across entries.
`tests/unit/test_canonical.py` checks every form against values stored before this module
existed (`tests/fixtures/canonical/`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final, Literal

Form = Literal["compact", "spaced-ascii"]
COMPACT: Final = "compact"
SPACED_ASCII: Final = "spaced-ascii"


def canonical(obj: Any, *, default: Callable[[Any], Any] | None = None,
              form: Form = COMPACT) -> bytes:
    """The canonical JSON bytes of `obj` (`default` renders what JSON has no type for).

    Raises ValueError for NaN or infinity and TypeError for an unknown type without `default`.
    A lone surrogate (which the request screen, `app.safe_input`, refuses) is encoded as is
    rather than raising, so a hash never crashes on it.
    """
    if form == COMPACT:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False, default=default)
    elif form == SPACED_ASCII:
        text = json.dumps(obj, sort_keys=True, allow_nan=False, default=default)
    else:
        raise ValueError(f"unknown canonical form {form!r}")
    return text.encode("utf-8", "surrogatepass")
