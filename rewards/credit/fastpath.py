"""先诊后付's partner writes on PostgreSQL: an authorization or a capture in one statement.

Design overview
---------------
* `authorize` and `capture` are, on PostgreSQL, one call to `pc_credit_authorize` /
  `pc_credit_capture` (migration 0012; the pattern is `core.pgcall`'s) on an autocommit unit of
  work: the idempotency claim, the token's consumption, the effect, the access-log entry or the
  notification and the stored answer in one implicit transaction. Python checks the token's
  signature first (`tokens.admit`) and makes the ids, times and texts, so the answers are
  byte-identical to the portable path's (`rewards.credit.services`).
* Each returns None when the portable path must answer: SQLite; a token `admit` refuses (the
  portable path names the reason, or finds a retry's stored answer first); a case the function
  hands back (`PortablePath`: the resident's first account, holds past their expiry still
  counted, a hold that does not fit, a scenario that stopped disclosing `limit_fen` or was
  switched off). Nothing was written then.
* A refusal in the function is the portable path's refusal: the builders of
  `rewards.credit.errors`, `rewards.tokens.REFUSALS` and `core.idempotency.REFUSALS`.
* The scenario is read inside the function (its `scenario_settings` row, else the shipped
  default passed in), so an operator's change applies to the next authorization.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import text

from core import idempotency, pgcall
from core.db import NewUnitOfWork, UnitOfWork
from core.identity import Partner
from rewards import scenarios, tokens
from rewards.credit import errors, notices, standing
from rewards.credit.terms import SCENARIO, Terms
from rewards.errors import TokenRejected

Answer = dict[str, Any]



_AUTHORIZE = text(
    f"SELECT pc_credit_authorize({tokens.CONSUME_ARGS}, :out_request_no, :hash, :amount_fen,"
    " :line, CAST(:default_scenario AS json), :hold_id, :expires_at, :created_iso,"
    " :expires_iso, :hold_log_id)")

_CAPTURE = text(
    "SELECT pc_credit_capture(:partner_id, :out_bill_no, :hash, :hold_id, :amount_fen,"
    " :bill_id, :now, :due_at, :created_iso, :due_iso, :note_id, :note_kind, :note_key,"
    " :note_title_zh, :note_title_en, :note_body_zh, :note_body_en, CAST(:note_data AS json))")

# What the functions' refusals mean (migrations 0010 and 0012).
REFUSALS: dict[str, pgcall.Refusal] = {
    **tokens.REFUSALS,
    **idempotency.REFUSALS,
    "credit_declined": lambda f: errors.credit_declined(),
    "authorization_not_found": lambda f: errors.authorization_not_found(),
    "authorization_closed": lambda f: errors.authorization_closed(
        f["authorization_status"], lapsed=bool(f.get("lapsed"))),
    "amount_exceeds_hold": lambda f: errors.amount_exceeds_hold(f["amount_fen"], f["hold_fen"]),
}


@lru_cache(maxsize=1)
def _default_scenario() -> str:
    """The shipped definition of the scenario, for a database without an operator's change."""
    return json.dumps(scenarios.defaults()[SCENARIO].as_dict())


def _call(uow: UnitOfWork, statement: Any, params: dict[str, Any]) -> Answer | None:
    try:
        return pgcall.call(uow, statement, params, REFUSALS)
    except pgcall.PortablePath:
        return None


def authorize(new_uow: NewUnitOfWork, token: Any, *, partner: Partner, amount_fen: int,
              out_request_no: str, body: Any, now: datetime, terms: Terms) -> Answer | None:
    """The authorization as one statement, or None for the portable path (see above)."""
    with new_uow(autocommit=True) as uow:
        if not pgcall.on_postgresql(uow):
            return None
        try:
            claims = tokens.admit(uow, token, partner=partner, scenario=SCENARIO,
                                  now=now)
        except TokenRejected:
            return None
        line = standing.token_line(claims)
        expires_at = now + terms.hold_ttl
        return _call(uow, _AUTHORIZE, {
            **tokens.db_args(claims, partner, now), "out_request_no": out_request_no,
            "hash": idempotency.body_hash(body), "amount_fen": amount_fen,
            "line": 0 if line is None else line, "default_scenario": _default_scenario(),
            "hold_id": uuid.uuid4(), "expires_at": expires_at,
            "created_iso": idempotency.iso(now), "expires_iso": idempotency.iso(expires_at),
            "hold_log_id": uuid.uuid4()})


def capture(new_uow: NewUnitOfWork, authorization_id: uuid.UUID, *, partner: Partner,
            amount_fen: int, out_bill_no: str, body: Any, now: datetime,
            terms: Terms) -> Answer | None:
    """The capture as one statement, or None for the portable path (see above)."""
    with new_uow(autocommit=True) as uow:
        if not pgcall.on_postgresql(uow):
            return None
        bill_id, due_at = uuid.uuid4(), now + terms.due
        notice = notices.bill_posted(partner.name, bill_id, amount_fen, due_at)
        return _call(uow, _CAPTURE, {
            "partner_id": partner.id, "out_bill_no": out_bill_no,
            "hash": idempotency.body_hash(body), "hold_id": authorization_id,
            "amount_fen": amount_fen, "bill_id": bill_id, "now": now, "due_at": due_at,
            "created_iso": idempotency.iso(now), "due_iso": idempotency.iso(due_at),
            "note_id": uuid.uuid4(), "note_kind": notice.kind, "note_key": notice.dedupe_key,
            "note_title_zh": notice.title[0], "note_title_en": notice.title[1],
            "note_body_zh": notice.body[0], "note_body_en": notice.body[1],
            "note_data": json.dumps(notice.data)})
