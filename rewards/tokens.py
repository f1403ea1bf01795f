"""Partner tokens (信用码): issue, verify, introspect, consume.

Design overview
---------------
* A token is a compact JWS, `alg: EdDSA`, header `typ: pc-entitlement+jwt` and `kid`, signed with
  the active `token` key (core.signing). Claims: `iss aud sub scn ent iat exp jti` and nothing
  else — no score, tier, name or ID number. `sub` is the resident's pairwise pseudonym at the
  audience partner (rewards.pseudonyms); `exp - iat` is the scenario's lifetime (≤ 300 s).
* Verification is strict and answers one named reason per failure: size, shape, `alg` (only
  EdDSA: `none` and HS256-with-the-public-key never reach a verifier), `typ`, a published `kid`
  of purpose `token`, the signature, the claim types, `iss`, lifetime, `exp`, `iat`, `aud`.
  Those checks need no database and live in `rewards.token_format`.
* A token dies with the consent it relied on: it is revoked when no consent to `scenario:<scn>`
  is valid now, or the valid one was given after `iat` (withdraw + re-grant kills old tokens).
* Single use: `consume` is the one place a token is used up. Redis (`store.add` on the jti)
  turns replays away fast; the `consumed_tokens` primary key is the guarantee. If the caller's
  transaction rolls back, the pre-check mark is released, so a failed attempt does not burn the
  token; a mark without a committed consumption (its process died) is not trusted.
* Introspection (RFC 7662) never consumes and answers `{active: false}` for every failure.
* Every introspection and consumption of an identifiable token is written to the access log
  the resident sees.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, event, exists, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from consent.gate import consent_since_column
from core import pgcall
from core.db import UnitOfWork
from core.fast import FastStore
from core.identity import Partner
from core.signing import OnDemand
from rewards import errors
from rewards.access import record_access
from rewards.models import ConsumedToken, PartnerPseudonym
from rewards.pseudonyms import pseudonym_for
from rewards.scenarios import MAX_TOKEN_TTL, Scenario
from rewards.token_format import (
    TYP,
    Claims,
    TokenContext,
    authentic,
    check_time_and_audience,
    context_of,
)

JTI_BYTES = 16  # 128 bits
INACTIVE: dict[str, Any] = {"active": False}


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime
    claims: Claims


def _ts(value: datetime) -> int:
    return int(value.timestamp())


# -- issue --------------------------------------------------------------------------------------

def issue(session: Session, *, resident_id: uuid.UUID, partner: Partner, scenario: Scenario,
          ent: dict[str, Any], now: datetime, ctx: TokenContext | None = None) -> Issued:
    """Sign a token for `partner` (eligibility and consent are the caller's to check)."""
    ctx = ctx or context_of(session)
    iat = _ts(now)
    claims = Claims(
        iss=ctx.issuer, aud=partner.client_id,
        sub=pseudonym_for(session, ctx.keyring, partner, resident_id, now),
        scn=scenario.code, ent=dict(ent), iat=iat,
        exp=iat + min(scenario.token_ttl_seconds, MAX_TOKEN_TTL),
        jti=secrets.token_urlsafe(JTI_BYTES),
    )
    token = ctx.signer.sign(session, "token", claims.public(), typ=TYP)
    return Issued(token, datetime.fromtimestamp(claims.exp, UTC), claims)


# -- verify -------------------------------------------------------------------------------------


def verify(session: Session, token: Any, *, audience: str, now: datetime,
           ctx: TokenContext | None = None) -> Claims:
    """A cryptographically valid, current token addressed to `audience` (no state checked)."""
    return _verified(session, token, audience=audience, now=now, ctx=ctx or context_of(session))


def _verified(session: OnDemand, token: Any, *, audience: str, now: datetime,
              ctx: TokenContext) -> Claims:
    claims = authentic(session, ctx, token, now)
    check_time_and_audience(ctx, claims, audience=audience, now=now)
    return claims


# Built once: constructing the statement per call costs more than running it.
_LIVE = (
    select(PartnerPseudonym.resident_id,
           consent_since_column(PartnerPseudonym.__table__.c.resident_id, bindparam("purpose"),
                                bindparam("now")),
           exists().where(ConsumedToken.jti == bindparam("jti")))
    .where(PartnerPseudonym.pseudonym == bindparam("sub"),
           PartnerPseudonym.partner_id == bindparam("partner_id"))
)


def _live(session: Session, claims: Claims, partner: Partner, now: datetime) -> Claims:
    """The resident behind the token, if the token is neither revoked nor consumed.

    One round trip: the pseudonym's resident, when their consent to the scenario was given
    (the consent gate's own criteria) and whether the jti was consumed.
    """
    row = session.execute(_LIVE, {"purpose": f"scenario:{claims.scn}", "now": now,
                                  "jti": claims.jti, "sub": claims.sub,
                                  "partner_id": partner.id}).first()
    if row is None:
        raise REFUSALS["token_revoked"]({"reason": "subject"})
    resident_id, since, used = row
    if since is None or claims.iat < int(since.timestamp()):
        raise REFUSALS["token_revoked"]({"reason": "consent"})
    if used:
        raise REFUSALS["token_replayed"]({})
    return Claims(**{**asdict(claims), "resident_id": resident_id})


def _serves(claims: Claims, partner: Partner) -> None:
    if claims.scn not in (partner.scenarios or []):
        raise errors.TokenWrongScenario("this partner no longer serves the token's scenario")


_REVOKED = {"subject": "the token's subject is not known to this service",
            "consent": "the resident withdrew the consent this token relied on"}

# What the database's refusals (rewards.tokens here, pc_token_state in migration 0010) mean.
REFUSALS: dict[str, pgcall.Refusal] = {
    "token_revoked": lambda f: errors.TokenRevoked(_REVOKED[f.get("reason") or "consent"]),
    "token_replayed": lambda f: errors.TokenReplayed("the token has already been used"),
}


def _log(session: Session, claims: Claims | None, partner: Partner, *, action: str,
         outcome: str, now: datetime, learned: dict[str, Any] | None = None,
         durable: bool = True) -> None:
    """Log for the resident if the token is authentic enough to say whose it is."""
    if claims is None:
        return
    resident_id = claims.resident_id or _any_resident(session, claims.sub)
    if resident_id is None:
        return
    record_access(session, resident_id=resident_id, actor_kind="partner",
                  actor_id=partner.client_id, actor_name=partner.name, action=action,
                  outcome=outcome, scenario=claims.scn, now=now, learned=learned,
                  durable=durable)


def _any_resident(session: Session, sub: str) -> uuid.UUID | None:
    from rewards.pseudonyms import resident_of

    found = resident_of(session, sub)
    return None if found is None else found[0]


# -- introspect ---------------------------------------------------------------------------------

# PostgreSQL: the live check and the access-log entry in one statement (migration 0010).
_INTROSPECT = text(
    "SELECT pc_introspect(:jti, :sub, :scn, :iat, CAST(:ent AS json), :partner_id, :client_id,"
    " :partner_name, :outcome, :log_id, :now)")


def introspect(uow: UnitOfWork, token: Any, *, partner: Partner, now: datetime,
               ctx: TokenContext | None = None) -> dict[str, Any]:
    """RFC 7662: `{active: true, scn, sub, ent, exp}` for a live token addressed to `partner`,
    `{active: false}` for anything else. Never consumes; logged for the resident.

    Changes nothing but the access log, so it runs on an autocommit unit of work; on
    PostgreSQL the live check and the log entry are one statement (`pc_introspect`), whose
    entry is not durable (see `rewards.access.record_access`).
    """
    ctx = ctx or context_of(uow)
    try:
        claims = authentic(lambda: uow.session, ctx, token, now)
    except errors.TokenRejected:
        return dict(INACTIVE)  # whose token it is cannot be told: nothing to log
    on_pg = pgcall.on_postgresql(uow)
    outcome = "active"
    try:
        check_time_and_audience(ctx, claims, audience=partner.client_id, now=now)
        _serves(claims, partner)
        if not on_pg:
            claims = _live(uow.session, claims, partner, now)
    except errors.TokenRejected as exc:
        outcome = exc.code
    if on_pg:
        args = {**db_args(claims, partner, now),
                "outcome": None if outcome == "active" else outcome}
        outcome = pgcall.call(uow, _INTROSPECT, args, {}).split(":")[0]
    else:
        _log(uow.session, claims, partner, action="introspect", outcome=outcome, now=now,
             learned=_learned(claims) if outcome == "active" else None, durable=False)
    uow.commit()
    if outcome != "active":
        return dict(INACTIVE)
    return {**_learned(claims), "active": True, "exp": claims.exp}


def _learned(claims: Claims) -> dict[str, Any]:
    """What a partner learns from a live token: its pseudonym, scenario and entitlement."""
    return {"sub": claims.sub, "scn": claims.scn, "ent": claims.ent}


def db_args(claims: Claims, partner: Partner, now: datetime) -> dict[str, Any]:
    """The token and partner as the database functions take them (`:jti … :now`; see
    `CONSUME_ARGS`)."""
    return {"jti": claims.jti, "sub": claims.sub, "scn": claims.scn, "iat": claims.iat,
            "exp": datetime.fromtimestamp(claims.exp, UTC), "ent": json.dumps(claims.ent),
            "partner_id": partner.id, "client_id": partner.client_id,
            "partner_name": partner.name, "log_id": uuid.uuid4(), "now": now}


# The arguments of pc_consume_token in order, for the functions that consume a token first.
CONSUME_ARGS = (":jti, :sub, :scn, :iat, :exp, CAST(:ent AS json), :partner_id, :client_id,"
                " :partner_name, :log_id, :now")


# -- consume ------------------------------------------------------------------------------------

def _release_on_rollback(uow: UnitOfWork, store: FastStore, key: str) -> None:
    """Forget the pre-check mark unless the caller's transaction commits."""
    session, state = uow.session, {"committed": False}

    def committed(_session: Session) -> None:
        state["committed"] = True

    def ended(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and not state.get("done"):
            state["done"] = True
            if not state["committed"]:
                store.delete(key)

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_transaction_end", ended)


def admit(uow: UnitOfWork, token: Any, *, partner: Partner, scenario: str, now: datetime,
          ctx: TokenContext | None = None) -> Claims:
    """What is checked before the database: signature, times, audience and `scenario`.

    The database's part (subject, consent, single use) is `_live` + the insert below, or
    `pc_consume_token` inside a PostgreSQL hot-path function (with `db_args`). Makes no
    session unless a key must be read."""
    claims = _verified(lambda: uow.session, token, audience=partner.client_id, now=now,
                       ctx=ctx or context_of(uow))
    if claims.scn != scenario:
        raise errors.TokenWrongScenario(f"the token is for {claims.scn!r}, not {scenario!r}")
    _serves(claims, partner)
    return claims


def consume(uow: UnitOfWork, token: Any, *, partner: Partner, scenario: str,
            now: datetime, ctx: TokenContext | None = None) -> Claims:
    """Use a token up, once: verified, addressed to `partner`, for `scenario`, consent still
    valid, never used before. Raises a `TokenRejected` subclass (`TokenReplayed` on a replay).

    Runs in the caller's unit of work; the consumption and its access-log entry commit with the
    caller's effect (an authorization, a waiver, a redemption) or not at all.
    """
    session = uow.session
    ctx = ctx or context_of(session)
    claims = _live(session, admit(uow, token, partner=partner, scenario=scenario, now=now,
                                  ctx=ctx), partner, now)
    assert claims.resident_id is not None
    mark = f"jti:{claims.jti}"
    if ctx.store.add(mark, max(1.0, claims.exp - now.timestamp() + 60)):
        _release_on_rollback(uow, ctx.store, mark)
    elif session.scalar(select(exists().where(ConsumedToken.jti == claims.jti))):
        raise errors.TokenReplayed("the token has already been used")
    # else the mark is a concurrent attempt's (the primary key below waits for it) or outlived
    # a process killed mid-request (its rollback never released it): the database decides.
    try:  # a plain INSERT (no ORM flush): the primary key is the single-use guarantee
        session.execute(insert(ConsumedToken), [{
            "jti": claims.jti, "partner_id": partner.id, "resident_id": claims.resident_id,
            "scenario": claims.scn, "consumed_at": now,
            "expires_at": datetime.fromtimestamp(claims.exp, UTC)}])
    except IntegrityError as exc:
        raise errors.TokenReplayed("the token has already been used") from exc
    _log(session, claims, partner, action="consume", outcome="consumed", now=now,
         learned=_learned(claims))
    return claims
