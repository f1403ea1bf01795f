"""Using up a token whose scenario has no call of its own: `POST /partner/v1/tokens/consume`.

Every token is single use (DESIGN §5.6). Which partner call uses a token up is a property of
its scenario (`use_call`): a 先诊后付 token is used by the hold (`POST
/partner/v1/medical-credit/authorizations`), a deposit-waiver token by the waiver, a points
token by the redemption — each consumes it inside its own effect. Every other scenario
(承诺减材料 `fewer_documents`, 优先办理 `priority_service`, the discounts, and any scenario
operators add that is none of those three) is used up here: the partner honours the benefit
and records the use, once.

* `use` is a partner's idempotent write, keyed by `out_use_no` (`core.idempotency`, claimed in
  SQL): one call of `pc_use_token` (rewards/sql/tokens.sql) claims the key storing the answer
  Python built, uses the token up (`pc_consume_token` with the scenario's exclusions: a token
  that introspection calls inactive is refused here too), records the use in `token_uses` and
  writes the resident's access-log entry — or refuses and changes nothing. A retry with the same
  body gets the first answer byte for byte, even once the token has expired; another use of the
  token answers `token_replayed`.
* A token of a scenario that has its own call is refused before the database is asked
  (`token_has_own_call`, naming the call in `use_with`) and stays usable there.

    answer = use(runtime().uow, token, partner=shop, out_use_no="u-1", now=now,
                 ctx=runtime().tokens)   # {"use_id", "scn", "sub", "ent", "discount_pct"}
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from core import idempotency, pgcall
from core.db import UnitOfWork
from core.errors import DomainError
from core.idempotency import Answer, Claim, idempotent, plain
from core.identity import Partner
from rewards import scenarios, tokens
from rewards.credit.terms import SCENARIO as CREDIT_SCENARIO
from rewards.eligibility import exceeds
from rewards.errors import LimitExceeded, TokenHasOwnCall
from rewards.points.redemption import SCENARIO as POINTS_SCENARIO
from rewards.scenarios import Scenario
from rewards.token_format import TokenContext
from rewards.waivers.services import is_waiver_scenario

CONSUME = "POST /partner/v1/tokens/consume"
HOLD = "POST /partner/v1/medical-credit/authorizations"
WAIVER = "POST /partner/v1/deposit-waivers"
REDEMPTION = "POST /partner/v1/points/redemptions"


def use_call(scenario: Scenario) -> str:
    """The partner call that uses up a token of `scenario`: the one call that accepts it."""
    if scenario.code == CREDIT_SCENARIO:
        return HOLD
    if scenario.code == POINTS_SCENARIO:
        return REDEMPTION
    if is_waiver_scenario(scenario):
        return WAIVER
    return CONSUME


@dataclass(frozen=True)
class TokenUse:
    """What the partner is told of a use: its id and what the token said."""

    use_id: uuid.UUID
    scn: str
    sub: str
    ent: dict[str, Any]
    discount_pct: int | None  # what the partner asked for (checked against the resident's)


REFUSALS: dict[str, pgcall.Refusal] = {**idempotency.REFUSALS, **tokens.REFUSALS}

_USE = text(
    f"SELECT pc_use_token({tokens.CONSUME_ARGS}, :exclusions, :out_use_no, :hash, :use_id,"
    " CAST(:answer AS json))")


def _admitted(uow: UnitOfWork, token: Any, *, partner: Partner, now: datetime,
              ctx: TokenContext) -> tokens.Claims:
    """The token checked as far as Python can (`tokens.admit`), for an active scenario whose
    tokens this call uses up."""
    claims = tokens.admit(uow, token, partner=partner, scenario=None, now=now, ctx=ctx)
    call = use_call(scenarios.get(uow.session, claims.scn))
    if call != CONSUME:
        raise TokenHasOwnCall(f"a {claims.scn} token is used up by {call}, not by {CONSUME}",
                              detail_zh=f"该场景的信用码须通过 {call} 使用", use_with=call)
    return claims


_LIMITS = text("SELECT limits FROM issued_tokens WHERE jti = :jti")


def _within_limits(uow: UnitOfWork, claims: tokens.Claims, asked: dict[str, int]) -> None:
    """What the partner asks for, against the resident's limits kept with the token (never
    disclosed): `limit_exceeded` when above them."""
    if asked and exceeds(uow.session.scalar(_LIMITS, {"jti": claims.jti}) or {}, asked):
        raise LimitExceeded()


@idempotent("tokens.consume", key="out_use_no", in_sql=True,
            body=lambda a: {"token": a["token"], "discount_pct": a["discount_pct"]})
def use(uow: UnitOfWork, claim: Claim, token: Any, *, partner: Partner, out_use_no: str,
        now: datetime, ctx: TokenContext, discount_pct: int | None = None) -> Answer:
    """Use the resident's token up, once per `(partner, out_use_no)`, for the discount
    `discount_pct` if the partner asks one: `TokenUse` as JSON. One statement (`pc_use_token`)
    on the wrapper's autocommit unit of work, after one read of the resident's limits when the
    partner asks for something."""
    refusals = REFUSALS
    asked = {} if discount_pct is None else {"discount_pct": discount_pct}
    try:
        claims = _admitted(uow, token, partner=partner, now=now, ctx=ctx)
        _within_limits(uow, claims, asked)
    except DomainError as refused:  # a token_* refusal, an unknown or unavailable scenario,
        # more than the resident can have
        # Nothing to use, but a retry is owed its stored answer: the function gives it, or
        # refuses `token_refused` and this refusal stands.
        refusal: DomainError = refused
        refusals = {**REFUSALS, "token_refused": lambda _fields: refusal}
        params: dict[str, Any] = {
            "jti": None, "sub": None, "scn": None, "iat": None, "exp": None, "ent": None,
            "partner_id": partner.id, "client_id": partner.client_id,
            "partner_name": partner.name, "log_id": None, "now": now, "exclusions": None,
            "use_id": None, "answer": None}
    else:
        answer = TokenUse(uuid.uuid4(), claims.scn, claims.sub, claims.ent, discount_pct)
        params = {**tokens.db_args(claims, partner, now),
                  "exclusions": tokens.shipped_exclusions(claims.scn),
                  "use_id": answer.use_id, "answer": json.dumps(plain(answer))}
    result: Answer = pgcall.call(uow, _USE, {**params, "out_use_no": claim.key,
                                             "hash": claim.digest}, refusals)
    return result
