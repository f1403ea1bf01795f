"""Deposit waivers (免押): create, complete (or settle), default; the resident's list.

Design overview
---------------
* The scenario is the token's `scn`, which must be a deposit-waiver scenario (one whose tier
  limits carry `deposit_cap_fen`). The cap, `max_items` and `max_active` come from the
  resident's tier *now*: the decision is recomputed at creation (exclusions included). It is
  computed before the idempotent write begins (`rewards.credit.standing`): reading a score may
  commit. Partners are told none of them (issue 20): a deposit or item count above the tier's,
  or a waiver beyond the slots the tier allows, is `limit_exceeded` whatever the tier.
* At most `max_active` waivers per resident and scenario hold a slot at once: taking a slot is
  one conditional UPDATE on `deposit_waiver_slots` (`used < max_active`), released when the
  item comes back (`completed`) or a default is `settled`. A default keeps its slot.
* `default` is only possible after the due date. A default still unsettled after the grace
  period becomes a `deposit_defaulted` record (job); settling repairs it. An item returned on
  time earns a `deposit_returned` record (job, off the partner's path).
* Every partner write is idempotent: creation by `out_order_no` (`idempotent`), the transitions by
  their state (completing a completed waiver answers the same).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from core import notifications, recordops
from core.db import NewUnitOfWork, UnitOfWork
from core.idempotency import idempotent, iso
from core.identity import Partner
from core.records import Record
from rewards import scenarios, tokens
from rewards.credit.standing import Standing, for_token
from rewards.eligibility import exceeds
from rewards.errors import LimitExceeded, TokenWrongScenario
from rewards.token_format import TokenContext
from rewards.waivers import errors
from rewards.waivers.models import DepositWaiver, WaiverSlots

MAX_DEPOSIT_FEN = 10**10
MAX_TERM = timedelta(days=3 * 366)  # the longest a waiver may run (rental leases)
SLOTS = cast(Table, WaiverSlots.__table__)


def is_waiver_scenario(scenario: scenarios.Scenario) -> bool:
    return (scenario.domain == "deposit_waiver"
            and all("deposit_cap_fen" in limits for limits in scenario.limits.values()))


def answer(waiver: DepositWaiver, *, sub: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "waiver_id": str(waiver.id), "scenario": waiver.scenario,
        "out_order_no": waiver.out_order_no, "item": waiver.item,
        "deposit_fen": waiver.deposit_fen, "status": waiver.status,
        "created_at": iso(waiver.created_at), "due_at": iso(waiver.due_at),
        "completed_at": iso(waiver.completed_at), "defaulted_at": iso(waiver.defaulted_at),
        "settled_at": iso(waiver.settled_at)}
    if sub is not None:
        out["sub"] = sub
    return out


# -- slots --------------------------------------------------------------------------------------

def _take_slot(session: Session, resident_id: uuid.UUID, scenario: str, max_active: int,
               now: datetime) -> bool:
    session.execute(postgresql.insert(SLOTS).values(
        resident_id=resident_id, scenario=scenario, used=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["resident_id", "scenario"]))
    c = SLOTS.c
    result = session.execute(update(SLOTS).where(
        c.resident_id == resident_id, c.scenario == scenario, c.used < max_active)
        .values(used=c.used + 1, updated_at=now))
    return result.rowcount == 1  # type: ignore[attr-defined]


def _free_slot(session: Session, waiver: DepositWaiver, now: datetime) -> None:
    c = SLOTS.c
    session.execute(update(SLOTS).where(
        c.resident_id == waiver.resident_id, c.scenario == waiver.scenario, c.used > 0)
        .values(used=c.used - 1, updated_at=now))


# -- create -------------------------------------------------------------------------------------

@idempotent("deposit_waiver.create", key="out_order_no",
            body=lambda a: {"token": a["token"], "deposit_fen": a["deposit_fen"],
                            "due_at": iso(a["due_at"]), "item": a["item"],
                            "items": a["items"]})
def _create(uow: UnitOfWork, token: Any, *, partner: Partner, out_order_no: str,
            deposit_fen: int, due_at: datetime, item: str, items: int | None, now: datetime,
            standing: Standing | None, ctx: TokenContext) -> dict[str, Any]:
    """`create` in the unit of work the wrapper opened, with the resident's standing."""
    session = uow.session
    if standing is None:  # the token could not be read (admit says why) or its scenario is off
        tokens.admit(uow, token, partner=partner, scenario=None, now=now, ctx=ctx)
        raise TokenWrongScenario("the token is not for an active deposit-waiver scenario")
    scenario = standing.scenario
    if not is_waiver_scenario(scenario):
        raise TokenWrongScenario("the token is not for a deposit-waiver scenario")
    claims = tokens.consume(uow, token, partner=partner, scenario=scenario.code, now=now,
                            ctx=ctx)
    decision = standing.decision
    if claims.resident_id != standing.resident_id or not decision.eligible:
        raise errors.WaiverDeclined("the resident cannot have a deposit waiver here now",
                                    detail_zh="该市民暂不能免押")
    resident_id = standing.resident_id
    cap = int(decision.limits["deposit_cap_fen"])
    asked = {"deposit_fen": deposit_fen} if items is None \
        else {"deposit_fen": deposit_fen, "items": items}
    max_active = int(decision.limits.get("max_active", 1))
    # Above the tier's cap or item count, or beyond the waivers its tier may hold at once: one
    # refusal that says nothing of the tier (issue 20).
    if exceeds(decision.limits, asked) or not _take_slot(session, resident_id, scenario.code,
                                                          max_active, now):
        raise LimitExceeded()
    waiver = DepositWaiver(
        id=uuid.uuid4(), resident_id=resident_id, partner_id=partner.id,
        scenario=scenario.code, out_order_no=out_order_no, item=item, deposit_fen=deposit_fen,
        cap_fen=cap, status="active", created_at=now, due_at=due_at, completed_at=None,
        defaulted_at=None, settled_at=None, record_id=None)
    session.add(waiver)
    session.flush()
    return answer(waiver, sub=claims.sub)


def create(new_uow: NewUnitOfWork, token: Any, *, partner: Partner, out_order_no: str,
           deposit_fen: int, due_at: datetime, item: str, now: datetime,
           ctx: TokenContext, items: int | None = None) -> dict[str, Any]:
    """Waive a deposit of `deposit_fen` (for `items` items, where the scenario counts them)
    until `due_at` for the resident behind `token`; idempotent by `out_order_no`. Consumes the
    token. More than the resident's tier allows: `limit_exceeded`."""
    if type(deposit_fen) is not int or not 0 < deposit_fen <= MAX_DEPOSIT_FEN:
        raise errors.InvalidDeposit("deposit_fen must be a positive integer number of fen",
                                    detail_zh="押金金额须为正整数（单位：分）")
    if items is not None and (type(items) is not int or not 0 < items <= 10_000):
        raise errors.InvalidDeposit("items must be a positive whole number",
                                    detail_zh="物品数量须为正整数")
    if due_at.tzinfo is None or not now < due_at <= now + MAX_TERM:
        raise errors.InvalidDeposit("due_at must be a time with zone, after now and within "
                                    "three years", detail_zh="归还期限不合理")
    item = item.strip()
    if not 0 < len(item) <= 200:
        raise errors.InvalidDeposit("item must be 1-200 characters", detail_zh="物品说明不合理")
    found = for_token(new_uow, token, partner=partner, now=now, ctx=ctx)
    return _create(new_uow, token, partner=partner, out_order_no=out_order_no,
                   deposit_fen=deposit_fen, due_at=due_at, item=item, items=items, now=now,
                   standing=found, ctx=ctx)


# -- complete, default --------------------------------------------------------------------------

def _own(session: Session, waiver_id: uuid.UUID, partner: Partner) -> DepositWaiver:
    waiver = session.get(DepositWaiver, waiver_id, with_for_update=True)
    if waiver is None or waiver.partner_id != partner.id:
        raise errors.WaiverNotFound("no such waiver of yours", detail_zh="没有该免押订单")
    return waiver


def complete(uow: UnitOfWork, waiver_id: uuid.UUID, *, partner: Partner,
             now: datetime) -> dict[str, Any]:
    """The item came back: an active waiver is `completed`, a defaulted one `settled` (its
    record, if written, is repaired). Repeating answers the same state."""
    session = uow.session
    waiver = _own(session, waiver_id, partner)
    if waiver.status == "active":
        waiver.status, waiver.completed_at = "completed", now
        _free_slot(session, waiver, now)
    elif waiver.status == "defaulted":
        waiver.status, waiver.settled_at = "settled", now
        _free_slot(session, waiver, now)
        _repair(session, waiver, now)
    out = answer(waiver)
    uow.commit()
    return out


def _repair(session: Session, waiver: DepositWaiver, now: datetime) -> None:
    record = session.get(Record, waiver.record_id) if waiver.record_id else None
    if record is not None and record.status == "active":
        recordops.set_status(session, record, "repaired", actor="system", now=now,
                             reason="deposit waiver settled")
    notifications.notify(
        session, resident_id=waiver.resident_id, kind="deposit_waiver_settled",
        dedupe_key=f"waiver-settled:{waiver.id}", now=now,
        title=("免押违约已结清", "Deposit waiver default settled"),
        body=(f"“{waiver.item}”的违约已结清。", f"The default on “{waiver.item}” is settled."),
        data={"waiver_id": str(waiver.id)})


def default(uow: UnitOfWork, waiver_id: uuid.UUID, *, partner: Partner, now: datetime,
            grace: timedelta) -> dict[str, Any]:
    """The item was not returned by its due date. Repeating answers the same state."""
    session = uow.session
    waiver = _own(session, waiver_id, partner)
    if waiver.status in ("completed", "settled"):
        raise errors.WaiverClosed(f"the waiver is already {waiver.status}",
                                  detail_zh="该免押订单已结束", waiver_status=waiver.status)
    if waiver.status == "active":
        if now < waiver.due_at:
            raise errors.WaiverNotDue("the item is not due yet", detail_zh="尚未到归还期限",
                                      due_at=iso(waiver.due_at))
        waiver.status, waiver.defaulted_at = "defaulted", now
        day = (now + grace).date().isoformat()
        notifications.notify(
            session, resident_id=waiver.resident_id, kind="deposit_waiver_defaulted",
            dedupe_key=f"waiver-defaulted:{waiver.id}", now=now,
            title=("免押物品未按期归还", "A waived-deposit item was not returned"),
            body=(f"合作方报告“{waiver.item}”未按期归还；请于 {day} 前归还或结清，"
                  "以免形成违约记录。",
                  f"The partner reports “{waiver.item}” was not returned; return or settle it "
                  f"by {day} to avoid a default record."),
            data={"waiver_id": str(waiver.id), "report_at": iso(now + grace)})
    out = answer(waiver)
    uow.commit()
    return out


def report_defaults(session: Session, now: datetime, grace: timedelta, limit: int) -> int:
    """Write a `deposit_defaulted` record for defaults unsettled past the grace period."""
    found = list(session.scalars(select(DepositWaiver).where(
        DepositWaiver.status == "defaulted", DepositWaiver.record_id.is_(None),
        DepositWaiver.defaulted_at <= now - grace).order_by(DepositWaiver.defaulted_at)
        .limit(limit).with_for_update(skip_locked=True)))
    for waiver in found:
        record = recordops.write_internal(
            session, resident_id=waiver.resident_id, category="scenario_performance",
            type="deposit_defaulted", source_record_id=f"deposit_waiver:{waiver.id}:defaulted",
            occurred_at=waiver.due_at, now=now, amount_fen=waiver.deposit_fen)
        waiver.record_id = record.id
    return len(found)


def credit_returns(session: Session, now: datetime, limit: int) -> int:
    """Write a `deposit_returned` record for items that came back by their due date."""
    found = list(session.scalars(select(DepositWaiver).where(
        DepositWaiver.status == "completed", DepositWaiver.record_id.is_(None),
        DepositWaiver.completed_at <= DepositWaiver.due_at).order_by(DepositWaiver.completed_at)
        .limit(limit).with_for_update(skip_locked=True)))
    for waiver in found:
        record = recordops.write_internal(
            session, resident_id=waiver.resident_id, category="scenario_performance",
            type="deposit_returned", source_record_id=f"deposit_waiver:{waiver.id}:returned",
            occurred_at=waiver.completed_at or now, now=now, amount_fen=waiver.deposit_fen)
        waiver.record_id = record.id
    return len(found)


# -- the resident's view ------------------------------------------------------------------------

def for_resident(session: Session, resident_id: uuid.UUID, limit: int = 100
                 ) -> list[dict[str, Any]]:
    """The resident's waivers, open ones first, then newest first."""
    rows = session.execute(
        select(DepositWaiver, Partner.client_id, Partner.name)
        .join(Partner, Partner.id == DepositWaiver.partner_id)
        .where(DepositWaiver.resident_id == resident_id)
        .order_by(DepositWaiver.created_at.desc()).limit(limit))
    out = [{**answer(w), "partner": {"client_id": cid, "name": name},
            "reported": w.record_id is not None and w.status in ("defaulted", "settled")}
           for w, cid, name in rows]
    out.sort(key=lambda w: w["status"] not in ("active", "defaulted"))
    return out
