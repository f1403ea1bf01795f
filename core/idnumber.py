"""Resident ID-card numbers (居民身份证号码, GB 11643-1999): validation and masking."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize(value: str) -> str:
    """Strip spaces and upper-case the check character (x -> X)."""
    return value.strip().replace(" ", "").upper()


def is_valid(value: object) -> bool:
    """True for an 18-character ID number with a correct checksum and a real birth date."""
    if not isinstance(value, str):
        return False
    value = normalize(value)
    if not _SHAPE.match(value):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return check_digit(value[:17]) == value[17]


def birth_date(value: str) -> date:
    """The birth date encoded in a valid ID number."""
    value = normalize(value)
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def mask(value: str) -> str:
    """Show only the first 3 and last 4 characters: 440***********123X."""
    value = normalize(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def make(region: str, born: date, sequence: int) -> str:
    """Build a valid ID number (for synthetic data and tests)."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_digit(first17)
