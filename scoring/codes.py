"""Integer codes for the registry, shared by the columnar record batch and the model.

The columnar batch (see `scoring.features`) carries small integers instead of strings. The codes
are positions in `core.registry`, so they are stable as long as the registry only grows at the
end:

- category index: position in `CATEGORY_CODES` (registry order);
- type index: position in `TYPE_KEYS`, a *global* list of (category, type) pairs in registry order
  (two categories may share a type code, e.g. ``contribution_month``);
- status: position in `RECORD_STATUSES` (``ACTIVE`` is 0); only active records count;
- severity: position in `SEVERITIES` (minor 0, general 1, serious 2), ``NO_SEVERITY`` (-1) when
  the record carries none.
"""

from __future__ import annotations

from core.registry import CATEGORIES, RECORD_STATUSES, SEVERITIES

CATEGORY_CODES: tuple[str, ...] = tuple(CATEGORIES)
CATEGORY_INDEX: dict[str, int] = {c: i for i, c in enumerate(CATEGORY_CODES)}

TYPE_KEYS: tuple[tuple[str, str], ...] = tuple(
    (c, t) for c, cat in CATEGORIES.items() for t in cat.types
)
TYPE_INDEX: dict[tuple[str, str], int] = {k: i for i, k in enumerate(TYPE_KEYS)}
TYPE_CATEGORY: tuple[int, ...] = tuple(CATEGORY_INDEX[c] for c, _ in TYPE_KEYS)

STATUS_INDEX: dict[str, int] = {s: i for i, s in enumerate(RECORD_STATUSES)}
ACTIVE: int = STATUS_INDEX["active"]

SEVERITY_INDEX: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
NO_SEVERITY: int = -1

# publicity_ends_at value meaning "no publicity end" (the record counts until repaired/removed).
NO_END: int = 2**62

SECONDS_PER_DAY: int = 86_400
# Average Gregorian month (365.2425 / 12 days), so "months since" is an integer for every input.
SECONDS_PER_MONTH: int = 2_629_746


def n_categories() -> int:
    """Number of registered categories (columns of the consent mask)."""
    return len(CATEGORY_CODES)
