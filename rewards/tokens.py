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
  Those checks need no database and live in `rewards.token_format`; `admit` adds the scenario.
* Whether an authentic token is live for its partner is decided in PostgreSQL and nowhere else:
  `pc_token_state` (rewards/sql/tokens.sql) — the pseudonym names a resident at this partner
  whose account is not erased (`token_revoked`, reason `subject`), the token's issue to that
  resident for that scenario is recorded in `issued_tokens` (reason `unrecorded`: a signature
  alone is not enough, so the signing key alone cannot make a usable token, and no token is
  used without the limits its row keeps), the resident's consent to
  `scenario:<scn>` is valid now and was given no later than `iat` (reason `consent`: a
  withdraw + re-grant kills old tokens), so is their consent to scoring, which every
  entitlement needs (reason `scoring`), the `jti` was never consumed (`token_replayed`), and —
  when the caller passes the scenario's exclusions — none of them applies now unless a human
  review's eligibility override is in force (`use_declined`, reason `excluded`:
  `pc_scenario_excluded`, rewards/sql/exclusions.sql). Introspection (`pc_introspect`) and
  consumption (`pc_consume_token`) call it, and so do the partner writes that consume a token
  inside their own function (`pc_credit_authorize`, `pc_redeem`: `CONSUME_ARGS`, `db_args`).
* Whatever stops a use makes introspection answer `{active: false}` at once (issue 19):
  introspection always checks the scenario's exclusions, and so do a points redemption
  (`pc_redeem`) and the use of a token whose scenario has no call of its own
  (`rewards.token_use`). The calls that decide eligibility themselves (a hold, a waiver) pass
  no exclusions to `pc_consume_token` and refuse in their own words (`credit_declined`,
  `waiver_declined`). Which exclusions a scenario names: its
  operators' definition in `scenario_settings` if there is one, else the shipped catalogue's,
  which only Python reads and passes in (`shipped_exclusions`; `pc_scenario_exclusions`
  chooses).
  Why there: those writes are one statement each, so the rule must be callable from SQL; a
  Python copy of it would be a second implementation to keep in step. In SQL every caller gets
  the answer, the consumption and the access-log entry in one round trip. The refusals come
  back as SQLSTATE PC400 (`core.pgcall`) and `REFUSALS` turns them into this package's errors.
* Single use: `consume` is the one Python entry that uses a token up. It runs
  `pc_consume_token` on the caller's session, so the consumption and its access-log entry commit
  with the caller's effect (an authorization, a waiver, a redemption) or not at all. The
  `consumed_tokens` primary key is the guarantee: a concurrent consumer waits for the first
  one's transaction and is refused `token_replayed` once it commits. A refusal aborts the
  caller's transaction, which then only rolls back (as every refusal does: `core.idempotency`).
* A use and a withdrawal are ordered (issue 22). `pc_consume_token` (rewards/sql/tokens.sql)
  locks the resident's consent records for the scenario and for scoring `FOR SHARE` (in the
  order an erasure takes them) before it checks them, and holds
  the lock until the caller's transaction ends; a withdrawal (and a re-grant, an erasure) takes the
  row `FOR UPDATE`. So once a withdrawal has committed no use can commit: a use that got the
  lock first makes the withdrawal wait until it commits, and one that comes later waits for
  the withdrawal and is refused `token_revoked`. Why a lock and not a second look after the
  account lock: a re-check leaves a gap between the look and the commit; the lock leaves none.
  The consent row is locked before any account row (the partner writes consume the token
  first), and a withdrawal locks no account, so the two cannot deadlock; uses share the lock
  and never wait for each other. The withdrawal takes effect no earlier than the last use it
  waited for, so that use is before it in the resident's access log.
* No fast-store mark: the database answers every attempt (a mark could never refuse a token by
  itself — a process killed mid-request would leave one that must not burn the token — and
  nothing read it).
* Introspection (RFC 7662) never consumes and answers `{active: false}` for every failure. It is
  one statement on an autocommit unit of work: the live check and the access-log entry, which
  commits without waiting for the WAL flush (it changes nothing else).
* Keys and our issuer name come in as `ctx` (`TokenContext`, built once by `create_app`).
* Every introspection and consumption of a token whose subject this service knows is written to
  the access log the resident sees (`pc_log_access`, inside the functions).
* The short one-time code (issue 20): each token gets an 18-digit `code` at issue, kept with it
  in `issued_tokens`. Every function here that takes a token takes its code in the same
  argument and swaps it for the JWS first (`_with_code`: one indexed SELECT, only when a code
  is given), so everything after — checks, single use, answers — is the token's. A code is
  found only for the partner it was issued for, before it expires and while its token is
  unused; any other code is `CodeUnknown` (introspection: `{active: false}`), one answer for
  unknown, used, expired and another partner's. Wrong codes are counted per partner
  (`ctx.code_misses`, shared by every process); past the limit every code is refused 429,
  right or wrong, before it is looked up. `verify` neither counts nor refuses (it is a look
  before a write, whose own `admit` does both).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import pgcall
from core.db import UnitOfWork
from core.errors import RateLimited
from core.identity import Partner
from core.signing import OnDemand, on_demand
from rewards import errors
from rewards.pseudonyms import Audience, pseudonym
from rewards.scenarios import MAX_TOKEN_TTL, Scenario, defaults
from rewards.token_format import (
    TYP,
    Claims,
    TokenContext,
    authentic,
    check_time_and_audience,
)

JTI_BYTES = 16  # 128 bits
INACTIVE: dict[str, Any] = {"active": False}
# The short one-time code (issue 20): 18 digits like a 付款码, a fixed prefix and 16 random
# digits (log2(10**16) = 53.2 bits), unique among the codes not yet deleted.
CODE_PREFIX = "28"
CODE_RANDOM_DIGITS = 16
CODE = re.compile(f"{CODE_PREFIX}[0-9]{{{CODE_RANDOM_DIGITS}}}")  # fullmatch: ASCII digits only


@dataclass(frozen=True)
class Issued:
    token: str
    code: str
    expires_at: datetime
    claims: Claims


def new_code() -> str:
    return CODE_PREFIX + str(secrets.randbelow(10**CODE_RANDOM_DIGITS)).zfill(CODE_RANDOM_DIGITS)


# One row per token: its code and the resident's limits at issue, which the partner writes
# enforce at use (never disclosed). A code already taken (1 in ~10**11 per issue with 100,000
# live codes) is drawn again.
# The token's row, and the partner's pseudonym mapping the first time (`rewards.pseudonyms`),
# in one statement.
# Sent as the driver takes it (`exec_driver_sql`: no statement compiled per call).
_REMEMBER = (
    "WITH mapped AS (INSERT INTO partner_pseudonyms (pseudonym, partner_id, resident_id,"
    " created_at) VALUES (%(sub)s, %(partner_id)s, %(resident_id)s, %(issued_at)s)"
    " ON CONFLICT DO NOTHING)"
    " INSERT INTO issued_tokens (jti, code, partner_id, resident_id, scenario, limits, token,"
    " issued_at, expires_at) VALUES (%(jti)s, %(code)s, %(partner_id)s, %(resident_id)s,"
    " %(scenario)s, CAST(%(limits)s AS json), %(token)s, %(issued_at)s, %(expires_at)s)"
    " ON CONFLICT (code) DO NOTHING RETURNING jti")


def _ts(value: datetime) -> int:
    return int(value.timestamp())


# -- issue --------------------------------------------------------------------------------------

def issue(session: OnDemand, *, resident_id: uuid.UUID, partner: Audience, scenario: Scenario,
          limits: dict[str, Any], now: datetime, ctx: TokenContext,
          write: Callable[[str, dict[str, Any]], Any] | None = None) -> Issued:
    """Sign a token for `partner` and give it a short code (eligibility and consent are the
    caller's to check). `ent` is the scenario's fixed disclosure; `limits` — the resident's in
    the scenario now — stay here, for the partner writes to enforce. The row is written in the
    session's transaction, or by `write` (SQL as the driver takes it, its parameters -> the
    first row or None: `core.pgcall.fetch` on a unit's autocommit connection); with `write`,
    `session` may be a callable, called only if the signing key must be read."""
    iat = _ts(now)
    claims = Claims(
        iss=ctx.issuer, aud=partner.client_id,
        sub=pseudonym(ctx.keyring, partner, resident_id),
        scn=scenario.code, ent=dict(scenario.discloses), iat=iat,
        exp=iat + min(scenario.token_ttl_seconds, MAX_TOKEN_TTL),
        jti=secrets.token_urlsafe(JTI_BYTES),
    )
    token = ctx.signer.sign(session, "token", claims.public(), typ=TYP)
    expires_at = datetime.fromtimestamp(claims.exp, UTC)
    row = {"jti": claims.jti, "sub": claims.sub, "partner_id": partner.id,
           "resident_id": resident_id,
           "scenario": scenario.code, "limits": json.dumps(limits), "token": token,
           "issued_at": now, "expires_at": expires_at}
    if write is None:
        connection = on_demand(session).connection()
        write = lambda sql, params: connection.exec_driver_sql(sql, params).first()  # noqa: E731
    while True:
        code = new_code()
        if write(_REMEMBER, {**row, "code": code}) is not None:
            return Issued(token, code, expires_at, claims)


# -- codes --------------------------------------------------------------------------------------

# The token behind a code when it is live for the asking partner: its own, not expired, unused.
# The code's unique index finds the row; the partner is named by client_id (what `verify` has).
_BY_CODE = text(
    "SELECT i.token FROM issued_tokens i WHERE i.code = :code"
    " AND i.partner_id = (SELECT id FROM partners WHERE client_id = :client_id)"
    " AND i.expires_at > :now AND NOT EXISTS (SELECT 1 FROM consumed_tokens c WHERE c.jti = i.jti)")


def _is_code(token: Any) -> bool:
    return isinstance(token, str) and CODE.fullmatch(token) is not None


def _looked_up(session: OnDemand, token: Any, *, client_id: str, now: datetime) -> Any:
    """`token` itself, or, when it is a short code, the JWS it stands for (else `CodeUnknown`)."""
    if not _is_code(token):
        return token
    found = on_demand(session).scalar(
        _BY_CODE, {"code": token, "client_id": client_id, "now": now})
    if found is None:
        raise errors.CodeUnknown()
    return found


def _with_code(session: OnDemand, token: Any, *, partner: Partner, now: datetime,
               ctx: TokenContext) -> Any:
    """`_looked_up` for a partner's call: past its limit of wrong codes the partner is refused
    before the look-up, whatever the code; a wrong code is counted."""
    if not _is_code(token):
        return token
    wait = ctx.code_misses.wait(partner.id)
    if wait:
        raise RateLimited(f"too many wrong codes; retry in {wait} s",
                          detail_zh="错误的码过多，请稍后再试", retry_after=wait)
    try:
        return _looked_up(session, token, client_id=partner.client_id, now=now)
    except errors.CodeUnknown:
        ctx.code_misses.missed(partner.id)
        raise


# -- verify -------------------------------------------------------------------------------------


def verify(session: Session, token: Any, *, audience: str, now: datetime,
           ctx: TokenContext) -> Claims:
    """A cryptographically valid, current token (or its code) addressed to `audience` (no state
    checked; a wrong code is neither counted nor limited: the write that follows does both)."""
    token = _looked_up(session, token, client_id=audience, now=now)
    return _verified(session, token, audience=audience, now=now, ctx=ctx)


def _verified(session: OnDemand, token: Any, *, audience: str, now: datetime,
              ctx: TokenContext) -> Claims:
    claims = authentic(session, ctx, token, now)
    check_time_and_audience(ctx, claims, audience=audience, now=now)
    return claims


def _serves(claims: Claims, partner: Partner) -> None:
    if claims.scn not in (partner.scenarios or []):
        raise errors.TokenWrongScenario("this partner no longer serves the token's scenario")


_REVOKED = {"subject": "the token's subject is not known to this service",
            "unrecorded": "this service has no record of issuing the token",
            "consent": "the resident withdrew the consent this token relied on",
            "scoring": "the resident withdrew their consent to scoring, which this token "
                       "relied on"}

# What the database's refusals (pc_token_state, pc_consume_token: rewards/sql/tokens.sql) mean.
REFUSALS: dict[str, pgcall.Refusal] = {
    "token_revoked": lambda f: errors.TokenRevoked(_REVOKED[f.get("reason") or "consent"]),
    "token_replayed": lambda f: errors.TokenReplayed("the token has already been used"),
    "use_declined": lambda f: errors.UseDeclined(
        "the resident cannot use this entitlement now; ask them to check their entitlements",
        detail_zh="该市民暂不能使用此权益"),
}


def shipped_exclusions(scenario: str) -> list[str]:
    """The exclusions the shipped catalogue names for `scenario` (none if it ships none); the
    database uses them unless operators changed the scenario (`pc_scenario_exclusions`)."""
    found = defaults().get(scenario)
    return list(found.exclusions) if found is not None else []


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


def _learned(claims: Claims) -> dict[str, Any]:
    """What a partner learns from a live token: its pseudonym, scenario and entitlement."""
    return {"sub": claims.sub, "scn": claims.scn, "ent": claims.ent}


# -- introspect ---------------------------------------------------------------------------------

# The live check and the access-log entry in one statement (rewards/sql/tokens.sql).
_INTROSPECT = text(
    "SELECT pc_introspect(:jti, :sub, :scn, :iat, CAST(:ent AS json), :partner_id, :client_id,"
    " :partner_name, :outcome, :log_id, :now, :exclusions)")


def introspect(uow: UnitOfWork, token: Any, *, partner: Partner, now: datetime,
               ctx: TokenContext) -> dict[str, Any]:
    """RFC 7662: `{active: true, scope, scn, client_id, token_type, sub, aud, iss, ent, iat, exp,
    jti}` (the token's own claims and RFC 7662's names for them) for a live token addressed
    to `partner`, `{active: false}` for anything else — a token no call would accept now
    included (a consent withdrawn, an exclusion arisen, the account erased). Asked with a
    code, the active answer also carries `token`, the signed JWS, for the partner's records.
    Never consumes; logged for the resident.

    Changes nothing but the access log, so it runs on an autocommit unit of work as one
    statement (`pc_introspect`). A verdict reached without the database (expired, another
    audience, …) is passed in, so the function only logs it.
    """
    try:
        signed = _with_code(lambda: uow.session, token, partner=partner, now=now, ctx=ctx)
        claims = authentic(lambda: uow.session, ctx, signed, now)
    except errors.TokenRejected:
        return dict(INACTIVE)  # whose token it is cannot be told: nothing to log
    refused = None
    try:
        check_time_and_audience(ctx, claims, audience=partner.client_id, now=now)
        _serves(claims, partner)
    except errors.TokenRejected as exc:
        refused = exc.code
    outcome = pgcall.call(uow, _INTROSPECT,
                          {**db_args(claims, partner, now), "outcome": refused,
                           "exclusions": shipped_exclusions(claims.scn)}, {})
    uow.commit()
    if outcome != "active":
        return dict(INACTIVE)
    answer = {**_learned(claims), "active": True, "exp": claims.exp, "iat": claims.iat,
              "iss": claims.iss, "aud": claims.aud, "jti": claims.jti, "scope": claims.scn,
              "client_id": claims.aud, "token_type": TYP}
    return answer if signed == token else {**answer, "token": signed}


# -- consume ------------------------------------------------------------------------------------

_CONSUME = text(f"SELECT pc_consume_token({CONSUME_ARGS})")


def admit(uow: UnitOfWork, token: Any, *, partner: Partner, scenario: str | None,
          now: datetime, ctx: TokenContext) -> Claims:
    """What is checked before the database: the code swapped for its token (counted, limited),
    signature, times, audience and `scenario` (None: any scenario the partner serves).

    The database's part (subject, consent, single use) is `pc_consume_token`, run by `consume`
    or inside a partner write's own function (with `db_args`). Makes no session unless a key
    must be read."""
    token = _with_code(lambda: uow.session, token, partner=partner, now=now, ctx=ctx)
    claims = _verified(lambda: uow.session, token, audience=partner.client_id, now=now,
                       ctx=ctx)
    if scenario is not None and claims.scn != scenario:
        raise errors.TokenWrongScenario(f"the token is for {claims.scn!r}, not {scenario!r}")
    _serves(claims, partner)
    return claims


def consume(uow: UnitOfWork, token: Any, *, partner: Partner, scenario: str,
            now: datetime, ctx: TokenContext) -> Claims:
    """Use a token up, once: verified, addressed to `partner`, for `scenario`, consent still
    valid, never used before. Raises a `TokenRejected` subclass (`TokenReplayed` on a replay).

    Runs in the caller's unit of work; the consumption and its access-log entry commit with the
    caller's effect (an authorization, a waiver, a redemption) or not at all.
    """
    session = uow.session
    claims = admit(uow, token, partner=partner, scenario=scenario, now=now, ctx=ctx)
    try:
        resident_id = session.execute(_CONSUME, db_args(claims, partner, now)).scalar_one()
    except DBAPIError as exc:
        refusal = pgcall.refusal(exc, REFUSALS)
        if refusal is None:
            raise
        raise refusal from None
    return Claims(**{**asdict(claims), "resident_id": resident_id})
