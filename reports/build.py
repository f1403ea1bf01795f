"""What a report says: the request a resident makes, checked, and the content assembled from
their score, records and consent.

Only what the resident selected goes in. Records count while they count for the score: active
or disputed (marked so), not repaired, removed or expired, and not past their publicity period
(信用修复: a record past publicity is no longer disclosed). Dates are calendar days in China
Standard Time; a period covers whole days, both ends included.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.identity import Resident, read_personal
from core.idnumber import mask
from core.records import Record
from core.registry import CATEGORIES
from reports.errors import ReportInvalid
from reports.models import KINDS

CST = timezone(timedelta(hours=8), "CST")
SECTIONS = ("score", "records", "scenario_performance", "commendations")
# Without a choice: neither the score (it leaves the resident's own view only when they choose
# to show it) nor the sensitive 先诊后付 section.
DEFAULT_SECTIONS = ("records", "commendations")
SENSITIVE = "scenario_performance"  # its own section, never part of "records" by default
RECORD_CATEGORIES = tuple(c for c in CATEGORIES if c != SENSITIVE)
NEGATIVE_CATEGORIES = tuple(
    c.code for c in CATEGORIES.values() if any(t.polarity == "negative" for t in c.types.values()))
# 违法违规: administrative penalties, dishonest debtors, tax arrears, traffic violations.
NO_VIOLATION_DEFAULT = ("public_credit", "judicial", "tax", "traffic")
DEFAULT_YEARS = 3
MAX_PERIOD_DAYS = 10 * 366
EARLIEST = date(1990, 1, 1)
LANGS = ("zh", "en")
STATUS_NAMES = {"active": ("有效", "in force"), "disputed": ("异议处理中", "under dispute")}
SEVERITY_NAMES = {"minor": ("轻微", "minor"), "general": ("一般", "general"),
                  "serious": ("严重", "serious")}
COMMENDATION_TYPES = (("public_credit", "commendation"),)


@dataclass(frozen=True)
class ReportRequest:
    kind: str
    sections: tuple[str, ...]
    categories: tuple[str, ...]
    start: date
    end: date
    lang: str = "zh"

    def options(self) -> dict[str, Any]:
        return {"categories": list(self.categories), "lang": self.lang,
                "period": {"from": self.start.isoformat(), "to": self.end.isoformat()}}


def _invalid(field: str, message: str, zh: str) -> ReportInvalid:
    return ReportInvalid(f"{field}: {message}", detail_zh=zh,
                         errors=[{"field": field, "messages": [message]}])


def today(now: datetime) -> date:
    return now.astimezone(CST).date()


def _years_back(day: date) -> date:
    try:
        return day.replace(year=day.year - DEFAULT_YEARS) + timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - DEFAULT_YEARS, day=28) + timedelta(days=1)


def _period(period: dict[str, Any] | None, now: datetime) -> tuple[date, date]:
    end = today(now)
    if not period:
        return _years_back(end), end
    start, stop = period.get("from"), period.get("to") or end
    if start is None:
        start = _years_back(stop)
    if stop > end:
        raise _invalid("period.to", "must not be after today", "期间结束日不能晚于今天")
    if start > stop:
        raise _invalid("period.from", "must not be after period.to", "期间开始日不能晚于结束日")
    if start < EARLIEST or (stop - start).days > MAX_PERIOD_DAYS:
        raise _invalid("period", "must start in 1990 or later and span at most 10 years",
                       "期间须始于1990年以后且不超过10年")
    return start, stop


def parse_request(kind: str, *, sections: list[str] | None, categories: list[str] | None,
                  period: dict[str, Any] | None, now: datetime, lang: str = "zh"
                  ) -> ReportRequest:
    """Check what the resident asked for; `ReportInvalid` (422) names the offending field."""
    if kind not in KINDS:
        raise _invalid("kind", f"must be one of {', '.join(KINDS)}", "报告类型无效")
    if lang not in LANGS:
        raise _invalid("lang", "must be zh or en", "语言无效")
    if categories is not None:
        unknown = sorted(set(categories) - set(CATEGORIES))
        if unknown:
            raise _invalid("categories", f"unknown categories: {', '.join(unknown)}",
                           "数据类别无效")
        if len(set(categories)) != len(categories) or not categories:
            raise _invalid("categories", "list each category once, at least one",
                           "数据类别须至少一个且不重复")
    start, end = _period(period, now)
    if kind == "no_violation":
        if sections:
            raise _invalid("sections", "a no-violation certificate has no sections to choose",
                           "无违法违规记录证明无需选择内容")
        chosen = tuple(categories or NO_VIOLATION_DEFAULT)
        without = sorted(set(chosen) - set(NEGATIVE_CATEGORIES))
        if without:
            raise _invalid("categories", f"these categories hold no negative records to "
                           f"certify: {', '.join(without)}", "所选类别不含负面记录，无法出具证明")
        ordered = tuple(c for c in CATEGORIES if c in chosen)
        return ReportRequest(kind, ("no_violation",), ordered, start, end, lang)
    picked = DEFAULT_SECTIONS if sections is None else sections
    unknown = sorted(set(picked) - set(SECTIONS))
    if unknown or not picked or len(set(picked)) != len(picked):
        raise _invalid("sections", f"choose one or more of {', '.join(SECTIONS)}, each once",
                       "请选择报告内容（信用分、分类记录、场景履约、表彰奖励）")
    ordered_sections = tuple(s for s in SECTIONS if s in picked)
    if categories is not None and "records" not in ordered_sections:
        raise _invalid("categories", "categories choose what the records section shows; "
                       "add the records section", "数据类别仅用于“分类记录”内容")
    chosen = tuple(c for c in CATEGORIES if c in (categories or RECORD_CATEGORIES)) \
        if "records" in ordered_sections else ()
    return ReportRequest(kind, ordered_sections, chosen, start, end, lang)


# -- content ----------------------------------------------------------------------------------

def _bounds(request: ReportRequest) -> tuple[datetime, datetime]:
    start = datetime.combine(request.start, time(), CST)
    end = datetime.combine(request.end + timedelta(days=1), time(), CST)
    return start, end


def _records(session: Session, resident_id: uuid.UUID, categories: tuple[str, ...],
             request: ReportRequest, now: datetime) -> list[Record]:
    start, end = _bounds(request)
    return list(session.scalars(select(Record).where(
        Record.resident_id == resident_id, Record.category.in_(categories),
        Record.occurred_at >= start, Record.occurred_at < end,
        Record.status.in_(("active", "disputed")),
        or_(Record.publicity_ends_at.is_(None), Record.publicity_ends_at > now),
    ).order_by(Record.occurred_at, Record.id)))


def _negative(record: Record) -> dict[str, Any]:
    rtype = CATEGORIES[record.category].types[record.type]
    severity = record.severity or ""
    return {"category": record.category, "type": record.type, "name_zh": rtype.name_zh,
            "name_en": rtype.name_en, "occurred_on": record.occurred_at.astimezone(CST)
            .date().isoformat(), "severity": severity, "status": record.status,
            "severity_zh": SEVERITY_NAMES.get(severity, ("", ""))[0],
            "status_zh": STATUS_NAMES[record.status][0],
            "status_en": STATUS_NAMES[record.status][1]}


def _category_summary(code: str, records: list[Record]) -> dict[str, Any]:
    category = CATEGORIES[code]
    counts: dict[str, int] = defaultdict(int)
    quantity: dict[str, float] = defaultdict(float)
    for r in records:
        counts[r.type] += 1
        quantity[r.type] += r.quantity or 0.0
    types = []
    for t in category.types.values():
        if counts.get(t.code):
            item = {"type": t.code, "name_zh": t.name_zh, "name_en": t.name_en,
                    "polarity": t.polarity, "count": counts[t.code]}
            if t.quantity:
                item["quantity"] = round(quantity[t.code], 2)
            types.append(item)
    negatives = [_negative(r) for r in records
                 if category.types[r.type].polarity == "negative"]
    return {"code": code, "name_zh": category.name_zh, "name_en": category.name_en,
            "types": types, "negatives": negatives, "total": len(records)}


def _period_json(request: ReportRequest) -> dict[str, str]:
    return {"from": request.start.isoformat(), "to": request.end.isoformat()}


def score_section(session: Session, resident: Resident, lang: str, now: datetime
                  ) -> dict[str, Any]:
    """Score, tier, dimensions and reasons; `ConsentRequired` without a scoring consent. A
    score recomputed for it is committed with the report."""
    from rights.disputes import marks
    from scoring.services import fresh_score, render

    view, _computed = fresh_score(session, resident, now=now)
    shown = render(session, view, lang)
    section: dict[str, Any] = {
        "score": view.score, "tier": view.tier, "tier_name": shown.get("tier_name", ""),
        "model": view.model, "computed_at": view.computed_at.isoformat(),
        "dimensions": [{k: d[k] for k in ("code", "name", "points", "max_points")}
                       for d in shown.get("dimensions", [])],
        "reasons": [{k: r[k] for k in ("code", "text", "points_lost")}
                    for r in shown.get("reasons", [])],
    }
    disputed = marks(session, resident.id, now=now, lang=lang)
    if disputed:  # records under dispute (异议标注) are named, never left out silently
        section["disputed"] = [{"type": m.type, "counts": m.counts, "text": m.text}
                               for m in disputed]
    return section


def _by_category(records: list[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        grouped[r.category].append(r)
    return grouped


def _commendations(session: Session, resident_id: uuid.UUID, request: ReportRequest,
                   now: datetime) -> dict[str, Any]:
    found = _records(session, resident_id, ("public_credit", "volunteer", "blood_donation"),
                     request, now)
    items = [{"type": r.type, "name_zh": CATEGORIES[r.category].types[r.type].name_zh,
              "name_en": CATEGORIES[r.category].types[r.type].name_en,
              "occurred_on": r.occurred_at.astimezone(CST).date().isoformat()}
             for r in found if (r.category, r.type) in COMMENDATION_TYPES]
    hours = sum(r.quantity or 0.0 for r in found if r.type == "service_hours")
    donations = sum(1 for r in found if r.type == "donation")
    return {"period": _period_json(request), "commendations": items,
            "volunteer_hours": round(hours, 2), "blood_donations": donations}


def _no_violation(session: Session, resident_id: uuid.UUID, request: ReportRequest,
                  now: datetime) -> dict[str, Any]:
    grouped = _by_category(_records(session, resident_id, request.categories, request, now))
    categories: list[dict[str, Any]] = []
    for code in request.categories:
        category = CATEGORIES[code]
        negatives = [_negative(r) for r in grouped.get(code, [])
                     if category.types[r.type].polarity == "negative"]
        categories.append({"code": code, "name_zh": category.name_zh,
                           "name_en": category.name_en, "clean": not negatives,
                           "negatives": negatives})
    clean = all(c["clean"] for c in categories)
    names_zh = "、".join(c["name_zh"] for c in categories)
    names_en = ", ".join(c["name_en"] for c in categories)
    found = sum(len(c["negatives"]) for c in categories)
    span_zh = f"{request.start:%Y年%m月%d日}至{request.end:%Y年%m月%d日}"
    span_en = f"{request.start.isoformat()} to {request.end.isoformat()}"
    if clean:
        statement = (f"经查询鹏城分信用信息系统，{span_zh}期间，在{names_zh}类别中未发现该市民的"
                     f"有效违法违规（负面）记录。",
                     f"The Pengcheng Score credit information system holds no negative record "
                     f"in force for this resident in {names_en} from {span_en}.")
    else:
        statement = (f"经查询鹏城分信用信息系统，{span_zh}期间，在{names_zh}类别中该市民有{found}条"
                     f"有效负面记录，列示如下。",
                     f"The Pengcheng Score credit information system holds {found} negative "
                     f"record(s) in force for this resident in {names_en} from {span_en}, "
                     f"listed below.")
    return {"period": _period_json(request), "clean": clean, "categories": categories,
            "statement_zh": statement[0], "statement_en": statement[1],
            "scope_zh": "本证明仅反映鹏城分系统经授权归集的数据，"
                        "不代替司法机关出具的无犯罪记录证明。",
            "scope_en": "This certificate covers only the data the Pengcheng Score system "
                        "collects; it does not replace a criminal-record certificate."}


def subject(session: Session, keyring: Any, resident: Resident) -> dict[str, str]:
    """Who the report is about: the name and the masked ID number, never the full number."""
    person = read_personal(session, keyring, resident)
    return {"name": person.name, "id_number": mask(person.id_number) if person.id_number else ""}


def content(session: Session, resident: Resident, request: ReportRequest, *, keyring: Any,
            now: datetime) -> dict[str, Any]:
    """The report's content: the subject and exactly the sections the resident chose."""
    out: dict[str, Any] = {"subject": subject(session, keyring, resident)}
    if request.kind == "no_violation":
        out["no_violation"] = _no_violation(session, resident.id, request, now)
        return out
    if "score" in request.sections:
        out["score"] = score_section(session, resident, request.lang, now)
    if "records" in request.sections:
        grouped = _by_category(_records(session, resident.id, request.categories, request, now))
        out["records"] = {"period": _period_json(request), "categories": [
            _category_summary(code, grouped.get(code, [])) for code in request.categories]}
    if "scenario_performance" in request.sections:
        found = _records(session, resident.id, (SENSITIVE,), request, now)
        out["scenario_performance"] = {"period": _period_json(request),
                                       **_category_summary(SENSITIVE, found)}
    if "commendations" in request.sections:
        out["commendations"] = _commendations(session, resident.id, request, now)
    return out
