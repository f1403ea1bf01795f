"""Idempotent partner writes: the same `out_*_no` and body give the first answer.

Design overview
---------------
* A partner's retry of a write (an authorization, a waiver, a redemption, a payment) carries its
  own key (`out_request_no`, `out_order_no`, …). `idempotent` wraps the use case and owns its
  unit of work: it claims `(partner, operation, key)` by inserting a row *before* doing the
  work, in the same transaction as the work (`INSERT … ON CONFLICT DO NOTHING`, one
  statement), runs the use case (which never commits), stores its answer and commits once.
  The primary key makes a concurrent retry wait on that insert (PostgreSQL blocks on the
  unique index) until the first transaction ends; it then reads the stored answer instead of
  doing the work again. 50 concurrent retries therefore make one effect and 50 identical
  answers.
* The same key with a different body is `409 idempotency_conflict`.
* A refusal (a domain error) rolls the claim back with everything else: nothing is remembered,
  and a corrected retry with the same key is allowed.
* The answer is stored as plain JSON (a dataclass answer is turned into it: times as `iso()`,
  ids as text); the wrapper returns the stored form on the first call and on every replay, so
  both are byte-identical once the area's schema renders them.
* A write that is one PostgreSQL function call (the hot paths: `pc_credit_authorize`, …)
  claims inside the function (`pc_claim_request` … `pc_store_answer`, one implicit
  transaction). `idempotent(..., in_sql=True)` covers it: the wrapper opens the autocommit unit
  of work, computes the `Claim` (operation, key, body hash) and hands it to the use case, which
  passes it to the function; the function answers a replay itself. No use case claims, hashes
  or stores an answer by hand.

    @idempotent("medical_credit.payment", key="out_payment_no",
                body=lambda a: {"bill_id": str(a["bill_id"]), "amount_fen": a["amount_fen"]})
    def pay(uow, bill_id, *, partner, amount_fen, out_payment_no, now) -> Payment: ...

    answer = pay(runtime().uow, bill_id, partner=partner, amount_fen=100,
                 out_payment_no="p-1", now=now)       # the first answer, or its replay

The decorated function takes the unit of work first and `partner` and `now` among its keyword
arguments; it is called with a unit-of-work factory in that place.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Concatenate, Literal, ParamSpec, overload

from sqlalchemy import ForeignKey, String, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.canonical import canonical
from core.clock import utc
from core.db import Base, NewUnitOfWork, UnitOfWork
from core.errors import IdempotencyConflict
from core.pgcall import Refusal

Answer = dict[str, Any]
P = ParamSpec("P")


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
    """SHA-256 (hex) of the body's canonical JSON (`str` for values JSON has no type for)."""
    return hashlib.sha256(canonical(body, default=str)).hexdigest()


def conflict(operation: str, key: str) -> IdempotencyConflict:
    """The key was first used with a different body (here, or in `pc_claim_request`)."""
    return IdempotencyConflict(f"{operation}: key {key!r} was first used with a different body",
                               detail_zh="同一业务单号已用于不同的请求内容")


# What `pc_claim_request`'s refusal means (core/sql/idempotency.sql; see `core.pgcall`).
REFUSALS: dict[str, Refusal] = {
    "idempotency_conflict": lambda f: conflict(f["operation"], f["key"]),
}


@dataclasses.dataclass(frozen=True)
class Claim:
    """What a write claims: `(partner, operation, key)` with the hash of its body. A
    PostgreSQL function that claims itself takes these as its arguments."""

    partner_id: uuid.UUID
    operation: str
    key: str
    digest: str


def plain(value: Any) -> Any:
    """`value` as the JSON it is stored as: dataclasses as objects, times as `iso()`, ids and
    anything else unknown as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _stored(session: Session, claim: Claim) -> Answer | None:
    found = session.get(PartnerRequest, (claim.partner_id, claim.operation, claim.key))
    if found is None:
        return None
    if found.body_hash != claim.digest:
        raise conflict(claim.operation, claim.key)
    return found.response


def _claim(session: Session, claim: Claim, now: datetime) -> bool:
    """Insert the claim unless the key exists; one statement. A concurrent in-flight claim
    makes this wait until that transaction ends (then: False if it committed)."""
    stmt = postgresql.insert(PartnerRequest).values(
        partner_id=claim.partner_id, operation=claim.operation, key=claim.key,
        body_hash=claim.digest, response=None, created_at=now,
    ).on_conflict_do_nothing().returning(PartnerRequest.key)
    return session.execute(stmt).first() is not None


def _once(new_uow: Callable[[], UnitOfWork], claim: Claim, now: datetime,
          effect: Callable[[UnitOfWork], Any]) -> Answer:
    with new_uow() as uow:
        if _claim(uow.session, claim, now):
            answer: Answer = json.loads(json.dumps(plain(effect(uow))))
            uow.session.execute(update(PartnerRequest).filter_by(
                partner_id=claim.partner_id, operation=claim.operation, key=claim.key)
                .values(response=answer))
            uow.commit()
            return answer
        found = _stored(uow.session, claim)
        if found is None:  # the first attempt committed its claim without an answer
            raise IdempotencyConflict(f"{claim.operation}: key {claim.key!r} is being "
                                      "processed; retry",
                                      detail_zh="该业务单号正在处理中，请稍后重试")
        return found


Body = Callable[[dict[str, Any]], Any]


@overload
def idempotent(operation: str, *, key: str, body: Body, in_sql: Literal[False] = False
               ) -> Callable[[Callable[Concatenate[UnitOfWork, P], Any]],
                             Callable[Concatenate[NewUnitOfWork, P], Answer]]: ...


@overload
def idempotent(operation: str, *, key: str, body: Body, in_sql: Literal[True]
               ) -> Callable[[Callable[Concatenate[UnitOfWork, Claim, P], Any]],
                             Callable[Concatenate[NewUnitOfWork, P], Answer]]: ...


def idempotent(operation: str, *, key: str, body: Body, in_sql: bool = False) -> Any:
    """Make a use case a partner's idempotent write, once per `(partner, operation, key)`.

    `key` names the argument holding the partner's key; `body(arguments)` is what a retry must
    repeat (a dict of the call's arguments by name). The use case runs in the unit of work the
    wrapper opens and never commits; its answer (a dataclass or plain JSON) is stored and
    returned as JSON, a replay returns the stored answer. With `in_sql`, a PostgreSQL function
    claims: the use case gets `(uow, claim, …)` on an autocommit unit of work and returns the
    function's answer (the first one or the replay).
    """
    def wrap(fn: Callable[..., Any]) -> Callable[..., Answer]:
        parameters = list(inspect.signature(fn).parameters.values())
        # the unit of work (and the claim) the wrapper provides come first
        parameters = parameters[2 if in_sql else 1:]
        names = [p.name for p in parameters]
        defaults = {p.name: p.default for p in parameters if p.default is not p.empty}

        @functools.wraps(fn)
        def write(new_uow: NewUnitOfWork, *args: Any, **kwargs: Any) -> Answer:
            # the call's arguments by name, as `inspect.Signature.bind` gives them at a fraction
            # of its cost (a wrong call still fails, in `fn`)
            arguments = {**defaults, **dict(zip(names, args, strict=False)), **kwargs}
            now: datetime = arguments["now"]
            claim = Claim(arguments["partner"].id, operation, str(arguments[key]),
                          body_hash(body(arguments)))
            if in_sql:  # the function's answer is JSON already
                with new_uow(autocommit=True) as uow:
                    answer: Answer = fn(uow, claim, *args, **kwargs)
                    return answer
            return _once(new_uow, claim, now, lambda uow: fn(uow, *args, **kwargs))

        return write

    return wrap
