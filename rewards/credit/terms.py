"""The configurable terms of 先诊后付 and deposit waivers (app config `MEDICAL_CREDIT_*`,
`DEPOSIT_WAIVER_*`; environment `PENGCHENG_…`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.errors import InvalidInput

SCENARIO = "medical_credit"


@dataclass(frozen=True)
class Terms:
    hold_hours: int = 24  # an authorization not captured within this is released
    due_days: int = 7  # a bill is due this many days after capture (pilots: 2-10)
    remind_days: int = 2  # the resident is reminded this many days before the due date
    grace_days: int = 7  # an overdue bill is reported as a record after this many days
    waiver_grace_days: int = 7  # a defaulted waiver is reported after this many days

    @property
    def hold_ttl(self) -> timedelta:
        return timedelta(hours=self.hold_hours)

    @property
    def due(self) -> timedelta:
        return timedelta(days=self.due_days)

    @property
    def remind(self) -> timedelta:
        return timedelta(days=self.remind_days)

    @property
    def grace(self) -> timedelta:
        return timedelta(days=self.grace_days)

    @property
    def waiver_grace(self) -> timedelta:
        return timedelta(days=self.waiver_grace_days)


KEYS = {"hold_hours": ("MEDICAL_CREDIT_HOLD_HOURS", 1, 24 * 30),
        "due_days": ("MEDICAL_CREDIT_DUE_DAYS", 1, 90),
        "remind_days": ("MEDICAL_CREDIT_REMIND_DAYS", 0, 30),
        "grace_days": ("MEDICAL_CREDIT_GRACE_DAYS", 0, 365),
        "waiver_grace_days": ("DEPOSIT_WAIVER_GRACE_DAYS", 0, 365)}


def from_config(config: Mapping[str, Any]) -> Terms:
    """The terms an app is configured with (defaults for keys it does not set)."""
    values: dict[str, int] = {}
    for field, (key, low, high) in KEYS.items():
        raw = config.get(key)
        if raw is None:
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{key} must be an integer") from exc
        if not low <= value <= high:
            raise InvalidInput(f"{key} must be {low}-{high}")
        values[field] = value
    return Terms(**values)
