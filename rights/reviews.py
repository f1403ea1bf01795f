"""Human review of automated decisions (PIPL art. 24).

A resident asks a person to review their score or an eligibility decision. The request stores
a snapshot of the decision as the resident saw it at that moment — the score with its whole
explanation, or the scenario's decision with its reasons — so the reviewer judges exactly that.
Design overview
---------------
A reviewer's outcome names its **effect**, and the effect happens in the decision's own
transaction — there is no "changed" that changes nothing:

* `confirmed` — the automated decision stands; the note gives the reasons. Effect
  `{"kind": "confirmed"}`.
* `changed` with one of (`REVIEW_EFFECTS`):
  * `record_corrected` — one of the resident's active records is corrected in place (the
    fields a dispute may correct, `rights.disputes.correct`; before and after kept);
  * `record_removed` — one of the resident's active records is removed (it never counts
    again);
  * `eligibility_override` — the resident counts as eligible for a named scenario until an
    end date (at most `MAX_OVERRIDE_DAYS` ahead): an `EligibilityOverride` row that
    entitlements, token issue and the 先诊后付 authorization honour.

  A record effect names the record's data source; the score is recomputed and stored with the
  decision. The effect is stored on the request (`effect`), shown to the resident with the
  outcome, written to the audit log, and said in the notification.

Every operator read of a request is in the resident's access log.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, dates
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.idempotency import iso
from core.identity import DataSource, Operator, Resident
from core.notifications import notify
from core.recordops import mark_stale, set_status
from core.registry import record_type
from rights.disputes import CST, correct
from rights.errors import ReviewNotFound
from rights.models import (
    REVIEW_EFFECTS,
    REVIEW_OUTCOMES,
    REVIEW_SUBJECTS,
    EligibilityOverride,
    ReviewRequest,
)
from rights.view import clean_text, opened, operator_acted, own_record, rescore, stamp, undecided

MAX_REASON = 1000
MAX_NOTE = 1000
MAX_OVERRIDE_DAYS = 366


def snapshot(uow: UnitOfWork, resident: Resident, subject: str, scenario: str | None,
             now: datetime) -> dict[str, Any]:
    """The decision as the resident sees it now (computing the score first if it is stale; a
    score so computed is committed with the request)."""
    if subject == "score":
        from scoring.services import fresh_score

        view, _computed = fresh_score(uow.session, resident, now=now)  # committed with it
        return {"score": view.score, "tier": view.tier, "model": view.model,
                "computed_at": iso(view.computed_at), "explanation": view.explanation}
    from rewards.entitlements import describe, entitlements
    from rewards.scenarios import get

    code = get(uow.session, scenario or "").code  # an unknown scenario is refused here
    found = next(e for e in entitlements(uow, resident, now=now) if e.scenario.code == code)
    return {"scenario": code, "decision": describe(found), "decided_at": iso(now)}


def request_review(uow: UnitOfWork, resident: Resident, *, subject: str, reason: str,
                   now: datetime, scenario: str | None = None) -> ReviewRequest:
    """Ask for a person to review the score or a scenario decision; the decision is attached."""
    if subject not in REVIEW_SUBJECTS:
        raise InvalidInput(f"subject must be one of {', '.join(REVIEW_SUBJECTS)}")
    if subject == "eligibility" and not scenario:
        raise InvalidInput("an eligibility review names the scenario",
                           detail_zh="请指明需要复核的场景")
    reason_text = clean_text(reason, field="reason", max_len=MAX_REASON)
    attached = snapshot(uow, resident, subject, scenario, now)
    session = uow.session
    review = ReviewRequest(id=uuid.uuid4(), resident_id=resident.id, subject=subject,
                           scenario=attached.get("scenario"), reason=reason_text,
                           snapshot=attached, status="open", requested_at=now)
    session.add(review)
    session.flush()
    audit.record(session, actor=f"resident:{resident.id}", action="review.requested", now=now,
                 subject=str(review.id), data={"subject": subject, "scenario": review.scenario})
    uow.commit()
    return review


def mine(uow: UnitOfWork, resident_id: uuid.UUID) -> list[ReviewView]:
    """The resident's review requests as they see them, newest first. Reads only."""
    return [view(r) for r in uow.session.scalars(
        select(ReviewRequest).where(ReviewRequest.resident_id == resident_id)
        .order_by(ReviewRequest.requested_at.desc(), ReviewRequest.id))]


def queue(session: Session, *, status: str | None = "open",
          limit: int = 100) -> list[ReviewRequest]:
    stmt = select(ReviewRequest)
    if status:
        stmt = stmt.where(ReviewRequest.status == status)
    return list(session.scalars(stmt.order_by(ReviewRequest.requested_at, ReviewRequest.id)
                                .limit(limit)))


@dataclass(frozen=True)
class ReviewView:
    """A review request as the resident sees it; JSON-ready, as the export holds it."""

    id: str
    subject: str
    scenario: str | None
    reason: str
    snapshot: dict[str, Any]
    status: str
    outcome: str | None
    note: str | None
    effect: dict[str, Any] | None  # what the outcome changed (see the module docstring)
    requested_at: str
    decided_at: str | None


@dataclass(frozen=True)
class ReviewDetail(ReviewView):
    """What an operator opening a request sees: the request (with the decision attached) and
    whose it is."""

    resident_id: str


def view(r: ReviewRequest) -> ReviewView:
    return ReviewView(id=str(r.id), subject=r.subject, scenario=r.scenario, reason=r.reason,
                      snapshot=r.snapshot, status=r.status, outcome=r.outcome, note=r.note,
                      effect=r.effect, requested_at=stamp(r.requested_at),
                      decided_at=iso(r.decided_at))


def queue_item(r: ReviewRequest) -> dict[str, Any]:
    return {"id": str(r.id), "resident_id": str(r.resident_id), "subject": r.subject,
            "scenario": r.scenario, "status": r.status, "outcome": r.outcome,
            "requested_at": iso(r.requested_at), "decided_at": iso(r.decided_at)}


def _missing(review_id: uuid.UUID) -> ReviewNotFound:
    return ReviewNotFound(f"no review request {review_id}")


def _learned(r: ReviewRequest) -> dict[str, Any]:
    seen = ["review_reason",
            "score_explanation" if r.subject == "score" else "eligibility_decision"]
    scenario = {"scenario": r.scenario} if r.scenario else {}
    return {"review_id": str(r.id), "subject": r.subject, **scenario, "seen": seen}


def read(uow: UnitOfWork, review_id: uuid.UUID, *, operator: Operator,
         now: datetime) -> ReviewDetail:
    """An operator reads a request with the attached explanation; logged for the resident."""
    session = uow.session
    r = opened(session, operator, ReviewRequest, review_id, missing=_missing(review_id),
               access="review_read", learned=_learned, action="review.read", now=now)
    uow.commit()
    return ReviewDetail(**asdict(view(r)), resident_id=str(r.resident_id))


def decide(uow: UnitOfWork, review_id: uuid.UUID, *, outcome: str, note: str,
           operator: Operator, now: datetime,
           effect: dict[str, Any] | None = None) -> ReviewRequest:
    """Record the reviewer's outcome and make its effect happen, in one transaction; the
    resident sees both and is notified."""
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}")
    note_text = clean_text(note, field="note", max_len=MAX_NOTE)
    kind = (effect or {}).get("kind")
    if outcome == "confirmed" and kind not in (None, "confirmed"):
        raise InvalidInput("a confirmed review changes nothing: give no effect",
                           detail_zh="维持原结果的复核不应附带调整")
    if outcome == "changed" and kind not in REVIEW_EFFECTS:
        raise InvalidInput(f"a changed review names its effect: one of "
                           f"{', '.join(REVIEW_EFFECTS)}",
                           detail_zh="复核调整须写明调整内容：更正或删除记录，或资格调整")
    session = uow.session
    r = undecided(session, ReviewRequest, review_id, missing=_missing(review_id), status="open",
                  decided=lambda r: f"this review was already decided ({r.outcome})")
    actor = f"operator:{operator.client_id}"
    done = (_take_effect(session, r, effect or {}, actor=actor, now=now)
            if outcome == "changed" else {"kind": "confirmed"})
    r.status, r.outcome, r.note, r.effect, r.decided_at, r.decided_by = (
        "decided", outcome, note_text, done, now, actor)
    if done["kind"] in ("record_corrected", "record_removed"):
        rescore(session, r.resident_id, now)
    zh, en = _effect_text(done)
    notify(session, resident_id=r.resident_id, kind="review_decided",
           dedupe_key=f"review:{r.id}:decided", title=("人工复核结果", "Human review outcome"),
           body=(f"{zh} 说明：{note_text}", f"{en} Note: {note_text}"),
           now=now, data={"review_id": str(r.id), "outcome": outcome, "effect": done["kind"]})
    operator_acted(session, operator, resident_id=r.resident_id, access="review_decided",
                   learned=_learned(r), action="review.decided", subject=r.id, now=now,
                   data={"outcome": outcome, "subject": r.subject, "effect": done})
    uow.commit()
    return r


def _take_effect(session: Session, r: ReviewRequest, effect: dict[str, Any], *, actor: str,
                 now: datetime) -> dict[str, Any]:
    """Make a `changed` review's effect happen; what happened, as stored on the request."""
    kind = effect["kind"]
    if kind == "eligibility_override":
        return _override(session, r, effect, actor=actor, now=now)
    try:
        record_id = uuid.UUID(str(effect.get("record_id")))
    except ValueError:
        raise InvalidInput("the effect names the record: record_id") from None
    record = own_record(session, r.resident_id, record_id, lock=True)
    if record.status != "active":
        raise InvalidInput(f"a {record.status} record cannot be {kind.split('_')[1]} by a review"
                           + (" (resolve its dispute instead)" if record.status == "disputed"
                              else ""),
                           detail_zh="该记录当前状态不能通过复核更正或删除")
    source = session.get(DataSource, record.source_id)
    done: dict[str, Any] = {"kind": kind, "record_id": str(record.id),
                            "category": record.category, "type": record.type,
                            "source": source.name if source else None}
    if kind == "record_corrected":
        changes = effect.get("correction")
        if not isinstance(changes, dict):
            raise InvalidInput("a correction names the new values: correction {field: value}")
        done["correction"] = correct(record, changes, now)
        mark_stale(session, r.resident_id, now)
    else:
        set_status(session, record, "removed", actor=actor, now=now, reason=f"review {r.id}")
    return done


def _override(session: Session, r: ReviewRequest, effect: dict[str, Any], *, actor: str,
              now: datetime) -> dict[str, Any]:
    from rewards.scenarios import get

    scenario = get(session, str(effect.get("scenario") or "")).code  # unknown: refused
    ends = dates.parse_instant(effect.get("ends_at"))
    if ends is None or not now < ends <= now + timedelta(days=MAX_OVERRIDE_DAYS):
        raise InvalidInput(f"an override ends at an ISO 8601 time after now and at most "
                           f"{MAX_OVERRIDE_DAYS} days ahead: ends_at",
                           detail_zh=f"资格调整须写明结束时间，且不超过 {MAX_OVERRIDE_DAYS} 天")
    row = EligibilityOverride(id=uuid.uuid4(), resident_id=r.resident_id, scenario=scenario,
                              review_id=r.id, granted_at=now, ends_at=ends, granted_by=actor)
    session.add(row)
    session.flush()
    return {"kind": "eligibility_override", "scenario": scenario, "ends_at": iso(ends),
            "override_id": str(row.id)}


def _effect_text(done: dict[str, Any]) -> tuple[str, str]:
    """What the notification says the review did (zh, en)."""
    kind = done["kind"]
    if kind == "confirmed":
        return "复核后维持原结果。", "The decision stands."
    if kind == "eligibility_override":
        ends = dates.parse_instant(done["ends_at"])
        until = ends.astimezone(CST).strftime("%Y-%m-%d %H:%M") if ends else done["ends_at"]
        return (f"复核后已调整：您在“{done['scenario']}”场景视为符合条件，至 {until} 止。",
                f"The decision was changed: you count as eligible for {done['scenario']} "
                f"until {until}.")
    rtype = record_type(done["category"], done["type"])
    zh_name, en_name = (rtype.name_zh, rtype.name_en) if rtype else (done["type"],) * 2
    source = done.get("source") or "数据来源"
    if kind == "record_removed":
        return (f"复核后已调整：{source}报送的“{zh_name}”记录已删除，不再计入信用分。",
                f"The decision was changed: the {en_name} record from {source} was removed "
                "and no longer counts.")
    return (f"复核后已调整：{source}报送的“{zh_name}”记录已更正，按更正后的内容计入信用分。",
            f"The decision was changed: the {en_name} record from {source} was corrected "
            "and counts as corrected.")
