"""The data-category registry: which categories and record types exist, and their rules.

Categories are registry data (DESIGN §5.2): a code, names in Chinese and English, a sensitivity,
the legal basis for processing, and the publicity rules by severity (信用修复管理办法).
Ingestion rejects anything not registered here; the scoring model validator refuses features
on anything not registered here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

SEVERITIES = ("minor", "general", "serious")
RECORD_STATUSES = ("active", "disputed", "repaired", "expired", "removed")

# Publicity period per severity: (minimum before repair may be applied for, maximum).
PUBLICITY: dict[str, tuple[timedelta, timedelta]] = {
    "minor": (timedelta(days=0), timedelta(days=90)),
    "general": (timedelta(days=90), timedelta(days=365)),
    "serious": (timedelta(days=365), timedelta(days=3 * 365)),
}


@dataclass(frozen=True)
class RecordType:
    code: str
    name_zh: str
    name_en: str
    polarity: str  # "positive" | "negative"
    quantity: bool = False  # whether `quantity` is meaningful (e.g. volunteer hours)
    default_severity: str | None = None  # negative records carry a severity

    def severity_of(self, given: str | None) -> str | None:
        """A record's severity: a negative record's own, or the type's default; None for a
        positive record."""
        return (given or self.default_severity) if self.polarity == "negative" else None


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    sensitivity: str  # "normal" | "sensitive" (sensitive needs separate consent)
    legal_basis: str
    types: dict[str, RecordType] = field(default_factory=dict)


def _cat(code: str, zh: str, en: str, sensitivity: str, basis: str,
         *types: RecordType) -> Category:
    return Category(code, zh, en, sensitivity, basis, {t.code: t for t in types})


def _positive(code: str, zh: str, en: str, *, quantity: bool = False) -> RecordType:
    return RecordType(code, zh, en, "positive", quantity=quantity)


def _negative(code: str, zh: str, en: str, default_severity: str) -> RecordType:
    return RecordType(code, zh, en, "negative", default_severity=default_severity)


_CONSENT = "PIPL art. 13(1) consent"

CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        _cat(
            "public_credit", "公共信用", "Public credit", "normal", _CONSENT,
            _negative("admin_penalty", "行政处罚", "Administrative penalty", "general"),
            _positive("commendation", "表彰奖励", "Commendation"),
        ),
        _cat(
            "judicial", "司法", "Judicial", "normal", _CONSENT,
            _negative("dishonest_debtor", "失信被执行人", "Dishonest judgment debtor", "serious"),
            _positive("obligation_fulfilled", "履行义务", "Obligation fulfilled"),
        ),
        _cat(
            "tax", "纳税", "Tax", "normal", _CONSENT,
            _positive("filed_on_time", "按时申报", "Filed on time"),
            _negative("arrears", "欠税", "Tax arrears", "general"),
        ),
        _cat(
            "social_insurance", "社会保险", "Social insurance", "normal", _CONSENT,
            _positive("contribution_month", "缴费月", "Month contributed"),
        ),
        _cat(
            "housing_fund", "住房公积金", "Housing fund", "normal", _CONSENT,
            _positive("contribution_month", "缴存月", "Month contributed"),
        ),
        _cat(
            "utilities", "水电气", "Utilities", "normal", _CONSENT,
            _positive("payment_on_time", "按时缴费", "Paid on time"),
            _negative("payment_overdue", "逾期缴费", "Paid late", "minor"),
        ),
        _cat(
            "traffic", "交通", "Traffic", "normal", _CONSENT,
            _negative("violation", "交通违法", "Traffic violation", "minor"),
        ),
        _cat(
            "volunteer", "志愿服务", "Volunteering", "normal", _CONSENT,
            _positive("service_hours", "志愿服务时长", "Volunteer hours", quantity=True),
        ),
        _cat(
            "blood_donation", "无偿献血", "Blood donation", "normal", _CONSENT,
            _positive("donation", "献血", "Donation"),
        ),
        _cat(
            "rental", "租赁", "Rental", "normal", _CONSENT,
            _positive("rent_on_time", "按时交租", "Rent paid on time"),
            _negative("rent_overdue", "逾期交租", "Rent paid late", "minor"),
        ),
        _cat(
            "scenario_performance", "场景履约", "Scenario performance", "sensitive", _CONSENT,
            _positive("medical_credit_repaid", "先诊后付按时还款", "Credit care bill repaid"),
            _negative("medical_credit_overdue", "先诊后付逾期", "Credit care bill overdue",
                      "general"),
            _positive("deposit_returned", "免押按时归还", "Waived-deposit item returned"),
            _negative("deposit_defaulted", "免押违约", "Waived-deposit default", "general"),
        ),
    )
}

# Data a credit model may never use (征信业管理条例 art. 14; DESIGN §2 principle 5).
BANNED_INPUTS = frozenset(
    {
        "religion", "genes", "genetic", "fingerprint", "fingerprints", "blood_type",
        "illness", "medical_history", "disease", "ethnicity", "ethnic",
    }
)


def publicity_end(occurred: datetime, severity: str | None) -> datetime | None:
    """When a record stops being published: its severity's longest publicity period after it
    occurred; never for a record without a severity (a positive one)."""
    return occurred + PUBLICITY[severity][1] if severity else None


def record_type(category: str, type_: str) -> RecordType | None:
    """The registered record type, or None when the category or type is unknown."""
    cat = CATEGORIES.get(category)
    return cat.types.get(type_) if cat else None
