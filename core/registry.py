"""The data-category registry: which categories and record types exist, and their rules.

Categories are registry data (DESIGN §5.2): a code, names in Chinese and English, a sensitivity,
the legal basis for processing, and the publicity rules by severity (信用修复管理办法).
Ingestion rejects anything not registered here; the scoring model validator refuses features
on anything not registered here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

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


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    sensitivity: str  # "normal" | "sensitive" (sensitive needs separate consent)
    legal_basis: str
    types: dict[str, RecordType] = field(default_factory=dict)


def _cat(code, zh, en, sensitivity, basis, *types: RecordType) -> Category:
    return Category(code, zh, en, sensitivity, basis, {t.code: t for t in types})


_CONSENT = "PIPL art. 13(1) consent"

CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        _cat(
            "public_credit", "公共信用", "Public credit", "normal", _CONSENT,
            RecordType("admin_penalty", "行政处罚", "Administrative penalty", "negative",
                       default_severity="general"),
            RecordType("commendation", "表彰奖励", "Commendation", "positive"),
        ),
        _cat(
            "judicial", "司法", "Judicial", "normal", _CONSENT,
            RecordType("dishonest_debtor", "失信被执行人", "Dishonest judgment debtor",
                       "negative", default_severity="serious"),
            RecordType("obligation_fulfilled", "履行义务", "Obligation fulfilled", "positive"),
        ),
        _cat(
            "tax", "纳税", "Tax", "normal", _CONSENT,
            RecordType("filed_on_time", "按时申报", "Filed on time", "positive"),
            RecordType("arrears", "欠税", "Tax arrears", "negative", default_severity="general"),
        ),
        _cat(
            "social_insurance", "社会保险", "Social insurance", "normal", _CONSENT,
            RecordType("contribution_month", "缴费月", "Month contributed", "positive"),
        ),
        _cat(
            "housing_fund", "住房公积金", "Housing fund", "normal", _CONSENT,
            RecordType("contribution_month", "缴存月", "Month contributed", "positive"),
        ),
        _cat(
            "utilities", "水电气", "Utilities", "normal", _CONSENT,
            RecordType("payment_on_time", "按时缴费", "Paid on time", "positive"),
            RecordType("payment_overdue", "逾期缴费", "Paid late", "negative",
                       default_severity="minor"),
        ),
        _cat(
            "traffic", "交通", "Traffic", "normal", _CONSENT,
            RecordType("violation", "交通违法", "Traffic violation", "negative",
                       default_severity="minor"),
        ),
        _cat(
            "volunteer", "志愿服务", "Volunteering", "normal", _CONSENT,
            RecordType("service_hours", "志愿服务时长", "Volunteer hours", "positive",
                       quantity=True),
        ),
        _cat(
            "blood_donation", "无偿献血", "Blood donation", "normal", _CONSENT,
            RecordType("donation", "献血", "Donation", "positive"),
        ),
        _cat(
            "rental", "租赁", "Rental", "normal", _CONSENT,
            RecordType("rent_on_time", "按时交租", "Rent paid on time", "positive"),
            RecordType("rent_overdue", "逾期交租", "Rent paid late", "negative",
                       default_severity="minor"),
        ),
        _cat(
            "scenario_performance", "场景履约", "Scenario performance", "sensitive", _CONSENT,
            RecordType("medical_credit_repaid", "先诊后付按时还款", "Credit care bill repaid",
                       "positive"),
            RecordType("medical_credit_overdue", "先诊后付逾期", "Credit care bill overdue",
                       "negative", default_severity="general"),
            RecordType("deposit_returned", "免押按时归还", "Waived-deposit item returned",
                       "positive"),
            RecordType("deposit_defaulted", "免押违约", "Waived-deposit default", "negative",
                       default_severity="general"),
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


def record_type(category: str, type_: str) -> RecordType | None:
    """The registered record type, or None when the category or type is unknown."""
    cat = CATEGORIES.get(category)
    return cat.types.get(type_) if cat else None
