"""Human review of automated decisions (PIPL art. 24).

A resident asks a person to review their score or an eligibility decision. The request stores
a snapshot of the decision as the resident saw it at that moment — the score with its whole
explanation, or the scenario's decision with its reasons — so the reviewer judges exactly that.
A reviewer records the outcome (`confirmed`: the automated decision stands; `changed`: it was
changed, e.g. a record was corrected) with a note the resident reads; the resident is notified.
Every operator read of a request is in the resident's access log.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.idempotency import iso
from core.identity import Operator, Resident
from core.notifications import notify
from rights.errors import ReviewNotFound
from rights.models import REVIEW_OUTCOMES, REVIEW_SUBJECTS, ReviewRequest
from rights.view import clean_text, opened, operator_acted, stamp, undecided

MAX_REASON = 1000
MAX_NOTE = 1000


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
                      requested_at=stamp(r.requested_at), decided_at=iso(r.decided_at))


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
           operator: Operator, now: datetime) -> ReviewRequest:
    """Record the reviewer's outcome; the resident sees it and is notified."""
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}")
    note_text = clean_text(note, field="note", max_len=MAX_NOTE)
    session = uow.session
    r = undecided(session, ReviewRequest, review_id, missing=_missing(review_id), status="open",
                  decided=lambda r: f"this review was already decided ({r.outcome})")
    actor = f"operator:{operator.client_id}"
    r.status, r.outcome, r.note, r.decided_at, r.decided_by = (
        "decided", outcome, note_text, now, actor)
    changed = outcome == "changed"
    notify(session, resident_id=r.resident_id, kind="review_decided",
           dedupe_key=f"review:{r.id}:decided", title=("人工复核结果", "Human review outcome"),
           body=(("复核后已调整。" if changed else "复核后维持原结果。") + f" 说明：{note_text}",
                 ("The decision was changed." if changed else "The decision stands.")
                 + f" Note: {note_text}"),
           now=now, data={"review_id": str(r.id), "outcome": outcome})
    operator_acted(session, operator, resident_id=r.resident_id, access="review_decided",
                   learned=_learned(r), action="review.decided", subject=r.id, now=now,
                   data={"outcome": outcome, "subject": r.subject})
    uow.commit()
    return r
