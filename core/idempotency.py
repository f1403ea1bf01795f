"""Idempotent partner writes: the same `out_*_no` and body give the first answer.

Design overview
---------------
* A partner's retry of a write (an authorization, a waiver, a redemption, a payment) carries its
  own key (`out_request_no`, `out_order_no`, …). `run_once` claims `(partner, operation, key)`
  by inserting a row *before* doing the work, in the same transaction as the work
  (`INSERT … ON CONFLICT DO NOTHING`, one statement). The primary key makes a concurrent retry
  wait on that insert (PostgreSQL blocks on the unique index) until the first transaction ends;
  it then reads the stored answer instead of doing the work again.
  50 concurrent retries therefore make one effect and 50 identical answers.
* The same key with a different body is `409 idempotency_conflict`.
* A refusal (a domain error) rolls the claim back with everything else: nothing is remembered,
  and a corrected retry with the same key is allowed.
* The answer is stored as plain JSON; `run_once` returns the stored form on the first call and
  on every replay, so both are byte-identical. Effects format times with `iso()`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import utc
from core.db import Base, UnitOfWork
from core.errors import IdempotencyConflict
from core.pgcall import Refusal

Answer = dict[str, Any]


class PartnerRequest(Base):
    __tablename__ = "partner_requests"

    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    operation: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


def iso(value: datetime | None) -> str | None:
    """A UTC time as ISO 8601 with `Z`, as stored answers carry it."""
    return None if value is None else utc(value).isoformat().replace("+00:00", "Z")


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    # surrogatepass: the same bytes as UTF-8 for all text, and no crash on a lone surrogate
    # should one ever get past the request screen (app.safe_input refuses them).
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def conflict(operation: str, key: str) -> IdempotencyConflict:
    """The key was first used with a different body (here, or in `pc_claim_request`)."""
    return IdempotencyConflict(f"{operation}: key {key!r} was first used with a different body",
                               detail_zh="同一业务单号已用于不同的请求内容")


# What `pc_claim_request`'s refusal means (migration 0010; see `core.pgcall`).
REFUSALS: dict[str, Refusal] = {
    "idempotency_conflict": lambda f: conflict(f["operation"], f["key"]),
}


def _stored(session: Session, partner_id: uuid.UUID, operation: str, key: str,
            digest: str) -> Answer | None:
    found = session.get(PartnerRequest, (partner_id, operation, key))
    if found is None:
        return None
    if found.body_hash != digest:
        raise conflict(operation, key)
    return found.response


def _claim(session: Session, row: dict[str, Any]) -> bool:
    """Insert the claim unless the key exists; one statement. A concurrent in-flight claim
    makes this wait until that transaction ends (then: False if it committed)."""
    stmt = postgresql.insert(PartnerRequest).values(**row).on_conflict_do_nothing() \
        .returning(PartnerRequest.key)
    return session.execute(stmt).first() is not None


def run_once(new_uow: Callable[[], UnitOfWork], *, partner_id: uuid.UUID, operation: str,
             key: str, body: Any, now: datetime, effect: Callable[[UnitOfWork], Answer]
             ) -> Answer:
    """Do `effect` once per `(partner, operation, key)` and commit; replays get its answer.

    `effect` runs in the unit of work it is given and must not commit; it returns plain JSON.
    """
    digest = body_hash(body)
    where = {"partner_id": partner_id, "operation": operation, "key": key}
    with new_uow() as uow:
        if _claim(uow.session, {**where, "body_hash": digest, "response": None,
                                "created_at": now}):
            answer = json.loads(json.dumps(effect(uow), default=str))
            uow.session.execute(update(PartnerRequest).filter_by(**where)
                                .values(response=answer))
            uow.commit()
            return answer
        found = _stored(uow.session, partner_id, operation, key, digest)
        if found is None:  # the first attempt committed its claim without an answer
            raise IdempotencyConflict(f"{operation}: key {key!r} is being processed; retry",
                                      detail_zh="该业务单号正在处理中，请稍后重试")
        return found
