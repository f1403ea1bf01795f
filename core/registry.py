"""The data-category registry: which categories and record types exist, and their rules.

Categories are registry data (DESIGN §5.2): a code, names in Chinese and English, a sensitivity,
the legal basis for processing, its role in scoring, and the publicity rules by severity
(信用修复管理办法). Ingestion rejects anything not registered here; the scoring model validator
refuses features on anything not registered here.

Each category is **core** or a **supplement** (issue 23). The core is what a score must always
count to describe a resident truthfully: negative information that is public by law, and the
performance of 鹏城分's own scenarios. Authorizing scoring authorizes the core; a resident with
no core records has a clean core record. A supplement is what a resident chooses to add, one
category at a time; adding one can only raise the score (`scoring.spec_check` enforces it).
Each category says why it is on its side (`role_reason`); docs/model-card.md lists them.
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


ROLES = ("core", "supplement")


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    sensitivity: str  # "normal" | "sensitive" (sensitive needs separate consent)
    legal_basis: str
    role: str  # "core" | "supplement"
    role_reason: str
    types: dict[str, RecordType] = field(default_factory=dict)

    @property
    def core(self) -> bool:
        return self.role == "core"


def _cat(code: str, zh: str, en: str, sensitivity: str, role: tuple[str, str, str],
         *types: RecordType) -> Category:
    """A category; ``role`` is (core|supplement, legal basis, why it is on that side)."""
    kind, basis, reason = role
    return Category(code, zh, en, sensitivity, basis, kind, reason, {t.code: t for t in types})


def _positive(code: str, zh: str, en: str, *, quantity: bool = False) -> RecordType:
    return RecordType(code, zh, en, "positive", quantity=quantity)


def _negative(code: str, zh: str, en: str, default_severity: str) -> RecordType:
    return RecordType(code, zh, en, "negative", default_severity=default_severity)


_PUBLIC = ("PIPL art. 13(1) consent to scoring, which includes the core; the records are "
           "published by law, processed within a reasonable scope (PIPL arts. 13(6), 27)")
_CHOSEN = "PIPL art. 13(1) consent, given for this category on its own"

_ROLES: dict[str, tuple[str, str, str]] = {
    "public_credit": ("core", _PUBLIC,
        "Administrative penalties and commendations are public credit information published "
        "under the national and Shenzhen 公共信用信息 catalogues (行政处罚法 art. 48; 深圳经济特区"
        "社会信用条例); leaving them out would let a penalized resident look clean."),
    "judicial": ("core", _PUBLIC,
        "The list of dishonest judgment debtors (失信被执行人) is published by the courts "
        "(最高人民法院关于公布失信被执行人名单信息的若干规定); a score without it would "
        "misdescribe the people it exists to tell apart."),
    "tax": ("core", _PUBLIC,
        "Tax arrears are published by the tax authority (税收征收管理法 art. 45, 欠税公告办法). "
        "Filing on time is the same authority's record of the same obligation; it has no "
        "negative side, so counting it can only add points (0 without records)."),
    "social_insurance": ("supplement", _CHOSEN,
        "Contribution months are not published; they show stability a resident may choose to "
        "add (and may lack for reasons that are not a fault, e.g. self-employment)."),
    "housing_fund": ("supplement", _CHOSEN,
        "Housing fund contributions depend on the employer and are not published; a resident "
        "adds them if they help."),
    "utilities": ("supplement", _CHOSEN,
        "Water, power and gas payments are private contract data, not published; a record of "
        "paying on time is evidence a resident may add (as Experian Boost does)."),
    "traffic": ("supplement", _CHOSEN,
        "Most traffic violations are decided by the simplified procedure and are not published "
        "as public credit information (行政处罚法 art. 48 publishes only decisions with social "
        "impact, which reach public_credit); a clean driving record is evidence to add."),
    "volunteer": ("supplement", _CHOSEN,
        "Volunteer hours are a positive record held by the volunteer registry; adding them can "
        "only help."),
    "blood_donation": ("supplement", _CHOSEN,
        "Blood donations are a positive record held by the blood centre; adding them can only "
        "help."),
    "rental": ("supplement", _CHOSEN,
        "Rent payments are private contract data, not published; paying on time is evidence a "
        "resident may add."),
    "scenario_performance": ("core",
        "PIPL art. 13(1) consent to scoring, which includes the core; the records are produced "
        "by scenarios the resident used under their own separate consent (PIPL art. 29)",
        "Repaying a 先诊后付 bill and returning a waived-deposit item are the performance of "
        "鹏城分's own incentives: a resident who used them is scored on how they kept them, or "
        "the incentives could be used without consequence. A resident who never used one has "
        "a clean record."),
}

CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        _cat(
            "public_credit", "公共信用", "Public credit", "normal",
            _ROLES["public_credit"],
            _negative("admin_penalty", "行政处罚", "Administrative penalty", "general"),
            _positive("commendation", "表彰奖励", "Commendation"),
        ),
        _cat(
            "judicial", "司法", "Judicial", "normal",
            _ROLES["judicial"],
            _negative("dishonest_debtor", "失信被执行人", "Dishonest judgment debtor", "serious"),
            _positive("obligation_fulfilled", "履行义务", "Obligation fulfilled"),
        ),
        _cat(
            "tax", "纳税", "Tax", "normal",
            _ROLES["tax"],
            _positive("filed_on_time", "按时申报", "Filed on time"),
            _negative("arrears", "欠税", "Tax arrears", "general"),
        ),
        _cat(
            "social_insurance", "社会保险", "Social insurance", "normal",
            _ROLES["social_insurance"],
            _positive("contribution_month", "缴费月", "Month contributed"),
        ),
        _cat(
            "housing_fund", "住房公积金", "Housing fund", "normal",
            _ROLES["housing_fund"],
            _positive("contribution_month", "缴存月", "Month contributed"),
        ),
        _cat(
            "utilities", "水电气", "Utilities", "normal",
            _ROLES["utilities"],
            _positive("payment_on_time", "按时缴费", "Paid on time"),
            _negative("payment_overdue", "逾期缴费", "Paid late", "minor"),
        ),
        _cat(
            "traffic", "交通", "Traffic", "normal",
            _ROLES["traffic"],
            _negative("violation", "交通违法", "Traffic violation", "minor"),
        ),
        _cat(
            "volunteer", "志愿服务", "Volunteering", "normal",
            _ROLES["volunteer"],
            _positive("service_hours", "志愿服务时长", "Volunteer hours", quantity=True),
        ),
        _cat(
            "blood_donation", "无偿献血", "Blood donation", "normal",
            _ROLES["blood_donation"],
            _positive("donation", "献血", "Donation"),
        ),
        _cat(
            "rental", "租赁", "Rental", "normal",
            _ROLES["rental"],
            _positive("rent_on_time", "按时交租", "Rent paid on time"),
            _negative("rent_overdue", "逾期交租", "Rent paid late", "minor"),
        ),
        _cat(
            "scenario_performance", "场景履约", "Scenario performance", "sensitive",
            _ROLES["scenario_performance"],
            _positive("medical_credit_repaid", "先诊后付按时还款", "Credit care bill repaid"),
            _negative("medical_credit_overdue", "先诊后付逾期", "Credit care bill overdue",
                      "general"),
            _positive("deposit_returned", "免押按时归还", "Waived-deposit item returned"),
            _negative("deposit_defaulted", "免押违约", "Waived-deposit default", "general"),
        ),
    )
}

CORE: frozenset[str] = frozenset(c for c, cat in CATEGORIES.items() if cat.core)
SUPPLEMENTS: frozenset[str] = frozenset(CATEGORIES) - CORE

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
