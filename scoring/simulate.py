"""What if: the score simulator (issue 23 item 6). Read-only; answers are never stored.

`simulate(uow, resident, changes, now=…, lang=…)` takes hypothetical changes the resident can
make and answers the projected score, tier, the entitlements it would unlock and the
explanation, computed by the same engine as the real score (`scoring.explain.score_resident`
over the resident's records with the changes applied in memory):

* ``repair_record`` {record_id} — one of the resident's negative records is repaired (stops
  counting); the answer also says whether a repair may be applied for now, and from when;
* ``pay_bill`` {bill_id} — an unpaid 先诊后付 bill is paid in full now: its overdue record, if
  one was written, is repaired; a bill not yet due becomes an on-time repayment;
* ``volunteer_hours`` {hours} — that many volunteer hours are served now (a resident who has
  not added the volunteer category adds it with these hours as its only evidence);
* ``keep_paying`` {months} — the resident keeps paying on time for that many months: every
  monthly on-time payment they make now (utilities, rent, social insurance, housing fund; one
  in the last two months) goes on each month, and the score is the one at the end, when older
  records have aged as they will;
* ``add_supplement`` {category} — a supplement not yet added is added; what it brings is the
  most it could bring, `scoring.spec.supplement_gain`, from the spec alone: the resident's own
  unconsented data is never read.

Only the records of categories the resident's scoring consent covers are read. Which exclusions
(失信被执行人, an overdue bill) would still bar a scenario is answered by the one rule, the SQL
function `pc_exclusions`, evaluated inside a savepoint in which the repairs and payments are
made and then rolled back: nothing of the simulation is ever written. The projection is shown
only to the resident who asked (the route is the resident's own, `/api/v1/me/…`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.identity import Resident
from core.records import Record
from core.registry import CATEGORIES
from rewards.credit.models import CreditBill
from rewards.eligibility import decide, overridden
from rewards.entitlements import overrides
from rewards.exclusions import active_exclusions
from rewards.scenarios import catalogue
from scoring.codes import SECONDS_PER_MONTH
from scoring.explain import score_resident
from scoring.services import active_model, current_score, records_of
from scoring.spec import Model, supplement_gain

KINDS = ("repair_record", "pay_bill", "volunteer_hours", "keep_paying", "add_supplement")
MAX_CHANGES = 10
MAX_HOURS = 2000
MAX_MONTHS = 24
# The monthly on-time payments `keep_paying` continues, and how recent the last one must be.
MONTHLY = (("utilities", "payment_on_time"), ("rental", "rent_on_time"),
           ("social_insurance", "contribution_month"), ("housing_fund", "contribution_month"))
PAYING_NOW = timedelta(days=62)
MONTH = timedelta(seconds=SECONDS_PER_MONTH)


class SimulationInvalid(InvalidInput):
    code, title = "simulation_invalid", "The simulated changes cannot be applied"


def _refuse(index: int, en: str, zh: str) -> SimulationInvalid:
    return SimulationInvalid(f"changes[{index}]: {en}", detail_zh=f"第 {index + 1} 项：{zh}",
                             index=index)


class _Hypothesis:
    """The hypothetical state: records (plain dicts), categories, instant, what was done."""

    def __init__(self, records: list[dict[str, Any]], categories: set[str], now: datetime):
        self.records = records
        self.categories = categories
        self.as_of = now
        self.repaired: list[uuid.UUID] = []
        self.paid: list[uuid.UUID] = []
        self.by_evidence: set[str] = set()  # supplements added with hypothetical records
        self.bounded: list[str] = []  # supplements added at their most (supplement_gain)
        self.notes: list[dict[str, Any]] = []

    def repair(self, record_id: uuid.UUID) -> None:
        for r in self.records:
            if r["id"] == record_id:
                r["status"], r["counts_until"] = "repaired", None
        self.repaired.append(record_id)


def _uuid(value: Any, index: int, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise _refuse(index, f"{field} is not an id", f"{field} 不是有效的编号") from None


def _repair(session: Session, what: _Hypothesis, resident: Resident, change: dict[str, Any],
            index: int, now: datetime) -> None:
    from rights.repair import eligibility

    record_id = _uuid(change.get("record_id"), index, "record_id")
    record = session.get(Record, record_id)
    if record is None or record.resident_id != resident.id:
        raise _refuse(index, "you have no such record", "未找到该记录")
    if record.severity is None:
        raise _refuse(index, "only a negative record is repaired", "该记录不是失信记录，无需修复")
    if record.status not in ("active", "disputed") or record_id in what.repaired:
        raise _refuse(index, f"the record is {record.status}; it does not count",
                      "该记录已不计入信用分")
    found = eligibility(session, record, now)
    what.repair(record_id)
    what.notes.append({"index": index, "kind": "repair_record", "eligible_now": found.eligible,
                       "earliest_at": found.earliest_at, "reasons": found.reasons})


def _pay(session: Session, what: _Hypothesis, resident: Resident, change: dict[str, Any],
         index: int, now: datetime) -> None:
    bill_id = _uuid(change.get("bill_id"), index, "bill_id")
    bill = session.get(CreditBill, bill_id)
    if bill is None or bill.resident_id != resident.id:
        raise _refuse(index, "you have no such bill", "没有该账单")
    if bill.status not in ("open", "overdue") or bill_id in what.paid:
        raise _refuse(index, "the bill is already paid", "该账单已还清")
    what.paid.append(bill_id)
    if bill.record_id is not None and bill.overdue_at is not None:
        what.repair(bill.record_id)  # as paying does (rewards.credit.services._settled)
    elif bill.due_at > now:  # on time: the bills job credits the repayment
        what.records.append({"id": None, "category": "scenario_performance",
                             "type": "medical_credit_repaid", "occurred_at": now,
                             "amount_fen": bill.amount_fen})


def _hours(what: _Hypothesis, change: dict[str, Any], index: int, now: datetime) -> None:
    hours = change.get("hours")
    if not isinstance(hours, int | float) or isinstance(hours, bool) \
            or not 0 < hours <= MAX_HOURS:
        raise _refuse(index, f"hours must be a number in (0, {MAX_HOURS}]",
                      f"小时数须大于 0 且不超过 {MAX_HOURS}")
    if "volunteer" not in what.categories:
        what.categories.add("volunteer")
        what.by_evidence.add("volunteer")
    what.records.append({"id": None, "category": "volunteer", "type": "service_hours",
                         "occurred_at": now, "quantity": float(hours)})


def _keep_paying(what: _Hypothesis, change: dict[str, Any], index: int, now: datetime) -> None:
    months = change.get("months")
    if type(months) is not int or not 1 <= months <= MAX_MONTHS:
        raise _refuse(index, f"months must be a whole number 1–{MAX_MONTHS}",
                      f"月数须为 1–{MAX_MONTHS} 的整数")
    if what.as_of != now:
        raise _refuse(index, "keep_paying is given once", "keep_paying 只能出现一次")
    paying = {(r["category"], r["type"]) for r in what.records
              if (r["category"], r["type"]) in MONTHLY and r.get("status") == "active"
              and now - PAYING_NOW < r["occurred_at"] <= now}
    for category, type_ in sorted(paying):
        what.records.extend({"id": None, "category": category, "type": type_,
                             "occurred_at": now + k * MONTH} for k in range(1, months + 1))
    what.as_of = now + months * MONTH


def _add(model: Model, what: _Hypothesis, change: dict[str, Any], index: int) -> None:
    code = change.get("category")
    found = CATEGORIES.get(code) if isinstance(code, str) else None
    if not isinstance(code, str) or found is None or found.core:
        raise _refuse(index, "category must be a supplement", "须为可补充的数据类别")
    if code in what.categories or code in what.bounded:
        raise _refuse(index, f"{code} is already added", f"{found.name_zh} 已添加")
    what.bounded.append(code)


def _apply(session: Session, model: Model, resident: Resident, changes: list[dict[str, Any]],
           categories: set[str], now: datetime) -> _Hypothesis:
    if not changes or len(changes) > MAX_CHANGES:
        raise SimulationInvalid(f"give 1 to {MAX_CHANGES} changes",
                                detail_zh=f"请给出 1 至 {MAX_CHANGES} 项设想的变化")
    records = [dict(r) for r in records_of(session, [resident.id])
               if r["category"] in categories]
    what = _Hypothesis(records, set(categories), now)
    supplements = []
    for i, change in enumerate(changes):
        kind = change.get("kind") if isinstance(change, dict) else None
        if kind == "repair_record":
            _repair(session, what, resident, change, i, now)
        elif kind == "pay_bill":
            _pay(session, what, resident, change, i, now)
        elif kind == "volunteer_hours":
            _hours(what, change, i, now)
        elif kind == "keep_paying":
            _keep_paying(what, change, i, now)
        elif kind == "add_supplement":
            supplements.append((i, change))
        else:
            raise _refuse(i, f"kind must be one of {', '.join(KINDS)}",
                          f"kind 须为 {'、'.join(KINDS)} 之一")
    for i, change in supplements:  # after the others: a category added by evidence is added
        _add(model, what, change, i)
    return what


def _exclusions(session: Session, resident: Resident, what: _Hypothesis,
                now: datetime) -> set[str]:
    """The exclusions that would apply with the repairs and payments made: `pc_exclusions`
    inside a savepoint that is rolled back (nothing is written)."""
    if not what.repaired and not what.paid:
        return active_exclusions(session, resident.id, now)
    savepoint = session.begin_nested()
    try:
        plain = {"synchronize_session": False}  # no loaded object takes these values
        if what.repaired:
            session.execute(update(Record).where(Record.id.in_(what.repaired))
                            .values(status="repaired"), execution_options=plain)
        if what.paid:
            session.execute(update(CreditBill).where(CreditBill.id.in_(what.paid))
                            .values(status="paid", paid_fen=CreditBill.amount_fen, paid_at=now),
                            execution_options=plain)
        return active_exclusions(session, resident.id, now)
    finally:
        savepoint.rollback()


def _eligible(session: Session, resident: Resident, score: int, tier: str,
              exclusions: set[str], now: datetime) -> dict[str, dict[str, str]]:
    """The scenarios the resident would be eligible for (a review's override applied), by
    code: their names."""
    granted = overrides(session, resident.id, now)
    return {s.code: dict(s.name) for s in catalogue(session).values()
            if s.available and bool(overridden(
                s, decide(s, score=score, tier=tier, exclusions=exclusions), tier=tier,
                override=granted.get(s.code)).eligible)}


def simulate(uow: Any, resident: Resident, changes: list[dict[str, Any]], *, now: datetime,
             lang: str = "zh") -> dict[str, Any]:
    """The projected score, tier, unlocks and explanation of `changes` (module docstring).

    Raises `ConsentRequired` without a scoring consent and `SimulationInvalid` for a change
    that cannot be applied. Only the resident's current score may be written (the ordinary
    read path's recomputation); nothing of the projection is."""
    view = current_score(uow, resident, now=now)
    session = uow.session
    model = active_model(session)
    what = _apply(session, model, resident, changes, set(view.inputs["consented_categories"]),
                  now)
    explanation, _inputs = score_resident(model, what.records, what.categories, what.as_of,
                                          lang=lang)
    gains: list[dict[str, Any]] = [
        {"category": c, "name": {"zh": CATEGORIES[c].name_zh, "en": CATEGORIES[c].name_en},
         "max_points": supplement_gain(model, c)} for c in what.bounded]
    score = int(explanation["score"]) + sum(int(g["max_points"]) for g in gains)
    tier = model.tier_for(score)
    added = set(what.bounded) | what.by_evidence
    explanation = {
        **explanation, "score": score, "tier": tier.code, "tier_name": tier.name[lang],
        "base_points": model.base_points, "added_supplements": gains,
        "unused_categories": [u for u in explanation["unused_categories"]
                              if u.get("category", u.get("code")) not in added],
    }
    before = _eligible(session, resident, view.score, view.tier,
                       active_exclusions(session, resident.id, now), now)
    after = _eligible(session, resident, score, tier.code,
                      _exclusions(session, resident, what, now), now)
    return {
        "score": score, "tier": tier.code, "tier_name": tier.name[lang],
        "delta": score - view.score, "current": {"score": view.score, "tier": view.tier},
        "as_of": what.as_of,
        "unlocks": [{"scenario": code, "name": name} for code, name in after.items()
                    if code not in before],
        "notes": what.notes,
        "explanation": explanation,
    }
