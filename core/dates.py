"""The calendar this service supports: days and instants in the years 1900-2200.

Nothing in a credit history happens before 1900 or after 2200, and Python's `datetime` cannot
move an instant at the calendar's edges (`0001-01-01T00:00:00+14:00` to UTC overflows). Every
date that arrives from outside is checked against this one range before anything computes with
it: request fields by `app.safe_input`, the raw records of a batch by `core.records`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

FIRST_YEAR = 1900
LAST_YEAR = 2200
RANGE_TEXT = f"dates must lie in the years {FIRST_YEAR}-{LAST_YEAR}"
RANGE_TEXT_ZH = f"日期须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间"
MAX_TEXT = 40  # the longest ISO 8601 text worth parsing


def supported(value: date) -> bool:
    """Whether a day or an instant (its own calendar year, as written) is in the range."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


def parse(text: Any) -> date | None:
    """An ISO 8601 day or instant as Python reads it, or None if `text` is not one."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def out_of_range(text: Any) -> bool:
    """Whether `text` reads as a day or an instant outside the supported years."""
    parsed = parse(text)
    return parsed is not None and not supported(parsed)


def parse_instant(text: Any) -> datetime | None:
    """An aware ISO 8601 instant in the supported years, as UTC; None for anything else."""
    parsed = parse(text)
    if not isinstance(parsed, datetime) or parsed.tzinfo is None or not supported(parsed):
        return None
    return parsed.astimezone(UTC)
