"""The floor: how fast an introspection can be on this machine with no framework at all.

Two WSGI apps for `bench/load/run.py --floor`, served by the same gunicorn settings as the
real endpoints:

* `wsgi_bare()` — the bare endpoint without Flask: read the body, parse JSON, answer JSON.
  What gunicorn itself costs per request.
* `introspection_floor()` — the least an introspection must do here and nothing more: parse
  the body, find the partner by its key (remembered per process), check the token's Ed25519
  signature, one call of `pc_introspect` (the access-log entry and the live check) on a
  per-thread autocommit connection, answer JSON. No Flask, no argument schema, no request id,
  no security headers, no error handling: not a service, a lower bound. Any real endpoint
  costs at least this much, so a target it cannot reach is out of reach.
* `write_floor()` — the same for the partner writes (issue 26): authorization
  (`pc_credit_authorize`), capture (`pc_credit_capture`) and points redemption (`pc_redeem`):
  parse, find the partner, check the token's signature (the writes that take one), hash the
  body for the idempotency claim, one call of the write's function with the arguments the
  service passes, answer its JSON. Served for all three paths by one app.
* `score_floor()` — a resident's score read (issue 26, target 3) the same way: the service's
  one-statement read (`scoring.read.current_read`) and its answer (the route's planned dump
  and scale), and nothing around them.
* `token_issue_floor()` — a resident's token issue (issue 26, target 3) with the service's own
  domain code and nothing around it: the session's checks and stored score read in one
  statement and the score's integrity derived (`rewards.entitlements.checked_read`), the rate
  limit's Redis hit, the token signed and written in one statement (`issue_checked`), the
  answer with its QR code (`token_answer`). No Flask, no input screen, no argument schema,
  no hooks, no error handling.
* `token_issue_minimal()` — the token issue again, as the least code could do it: the same
  two statements, Redis round trip, Ed25519 signature and QR, written straight on the
  drivers with none of the service's domain layers (see its docstring). Beside
  `token_issue_floor` it shows what those layers cost; beside the bare endpoint, what any
  implementation of this work costs on this machine.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import markupsafe  # noqa: F401 - bench.common.wait_loaded waits for workers to map it

INTROSPECT_PATH = "/partner/v1/tokens/introspect"
AUTHORIZE_PATH = "/partner/v1/medical-credit/authorizations"
CAPTURE_PATH = re.compile(r"^/partner/v1/medical-credit/authorizations/([0-9a-f-]{36})/capture$")
REDEEM_PATH = "/partner/v1/points/redemptions"
TOKENS_PATH = "/api/v1/me/tokens"
SCORE_PATH = "/api/v1/me/score"
_CONSUME = ("%(jti)s, %(sub)s, %(scn)s, %(iat)s, %(exp)s, CAST(%(ent)s AS json), %(partner_id)s,"
            " %(client_id)s, %(partner_name)s, %(log_id)s, %(now)s")
_PC_AUTHORIZE = (
    f"SELECT pc_credit_authorize({_CONSUME}, %(key)s, %(hash)s, %(amount_fen)s,"
    " CAST(%(default_scenario)s AS json), %(hold_id)s, %(expires_at)s, %(created_iso)s,"
    " %(expires_iso)s, %(hold_log_id)s, NULL)")
_PC_CAPTURE = (
    "SELECT pc_credit_capture(%(partner_id)s, %(key)s, %(hash)s, %(hold_id)s, %(amount_fen)s,"
    " %(bill_id)s, %(now)s, %(due_at)s, %(created_iso)s, %(due_iso)s, %(note_id)s,"
    " 'medical_credit_bill', %(note_key)s, '先诊后付账单已生成', 'A credit care bill was posted',"
    " %(body_zh)s, %(body_en)s, CAST(%(note_data)s AS json), NULL)")
_PC_REDEEM = (
    f"SELECT pc_redeem({_CONSUME}, %(key)s, %(hash)s, %(points)s, %(redemption_id)s,"
    " %(transfer_id)s, CAST(%(answer)s AS json), %(exclusions)s)")
_PC_INTROSPECT = (
    "SELECT pc_introspect(%(jti)s, %(sub)s, %(scn)s, %(iat)s, CAST(%(ent)s AS json),"
    " %(partner_id)s, %(client_id)s, %(partner_name)s, NULL, %(log_id)s, %(now)s,"
    " %(exclusions)s)")


def _answer(start_response: Any, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]


def _body(environ: dict[str, Any]) -> Any:
    return json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))


def wsgi_bare() -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        _body(environ)
        return _answer(start_response, {"active": False})

    return app


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def introspection_floor() -> Any:
    import psycopg

    from app import create_app
    from app.runtime import runtime
    from core.identity import Partner, by_api_key
    from rewards.tokens import shipped_exclusions

    flask_app = create_app()  # for /healthz, the keys and the partner lookup
    url = flask_app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    partners: dict[str, Partner] = {}
    keys: dict[str, Any] = {}
    local = threading.local()

    def looked_up(api_key: str, kid: str) -> tuple[Partner, Any]:
        with flask_app.app_context(), runtime().uow() as uow:
            if api_key not in partners:
                found = by_api_key(uow.session, Partner, api_key)
                uow.session.expunge(found)
                partners[api_key] = found
            if kid not in keys:
                keys[kid] = runtime().tokens.public_key(uow.session, kid, datetime.now(UTC))
        return partners[api_key], keys[kid]

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != INTROSPECT_PATH:
            return flask_app(environ, start_response)
        token = _body(environ)["token"]
        api_key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        head, payload, signature = token.split(".")
        kid = json.loads(_segment(head))["kid"]
        partner, key = partners.get(api_key), keys.get(kid)
        if partner is None or key is None:
            partner, key = looked_up(api_key, kid)
        key.verify(_segment(signature), f"{head}.{payload}".encode())
        claims = json.loads(_segment(payload))
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        outcome = conn.execute(_PC_INTROSPECT, {
            "jti": claims["jti"], "sub": claims["sub"], "scn": claims["scn"],
            "iat": claims["iat"], "ent": json.dumps(claims["ent"]), "partner_id": partner.id,
            "client_id": partner.client_id, "partner_name": partner.name,
            "log_id": uuid.uuid4(), "now": datetime.now(UTC),
            "exclusions": shipped_exclusions(claims["scn"])}).fetchone()[0]
        if not outcome.startswith("active"):
            return _answer(start_response, {"active": False})
        return _answer(start_response, {"sub": claims["sub"], "scn": claims["scn"],
                                        "ent": claims["ent"], "active": True,
                                        "exp": claims["exp"]})

    return app


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def write_floor() -> Any:
    """Authorization, capture and redemption with no framework: see the module's docstring."""
    import psycopg

    from app import create_app
    from app.runtime import runtime
    from core.identity import Partner, by_api_key
    from rewards import scenarios
    from rewards.tokens import shipped_exclusions

    flask_app = create_app()
    url = flask_app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    default_scenario = json.dumps(scenarios.defaults()["medical_credit"].as_dict())
    partners: dict[str, Partner] = {}
    keys: dict[str, Any] = {}
    local = threading.local()

    def partner_of(api_key: str) -> Partner:
        if api_key not in partners:
            with flask_app.app_context(), runtime().uow() as uow:
                found = by_api_key(uow.session, Partner, api_key)
                uow.session.expunge(found)
                partners[api_key] = found
        return partners[api_key]

    def claims_of(token: str) -> dict[str, Any]:
        head, payload, signature = token.split(".")
        kid = json.loads(_segment(head))["kid"]
        if kid not in keys:
            with flask_app.app_context(), runtime().uow() as uow:
                keys[kid] = runtime().tokens.public_key(uow.session, kid, datetime.now(UTC))
        keys[kid].verify(_segment(signature), f"{head}.{payload}".encode())
        return dict(json.loads(_segment(payload)))

    def consume_args(claims: dict[str, Any], partner: Partner, now: datetime) -> dict[str, Any]:
        return {"jti": claims["jti"], "sub": claims["sub"], "scn": claims["scn"],
                "iat": claims["iat"], "exp": datetime.fromtimestamp(claims["exp"], UTC),
                "ent": json.dumps(claims["ent"]), "partner_id": partner.id,
                "client_id": partner.client_id, "partner_name": partner.name,
                "log_id": uuid.uuid4(), "now": now}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        captured = CAPTURE_PATH.match(path)
        if path not in (AUTHORIZE_PATH, REDEEM_PATH) and captured is None:
            return flask_app(environ, start_response)
        body = _body(environ)
        partner = partner_of(environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2])
        now = datetime.now(UTC)
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        if path == AUTHORIZE_PATH:
            expires = now + timedelta(hours=24)
            params = {**consume_args(claims_of(body["token"]), partner, now),
                      "key": body["out_request_no"], "hash": _digest(
                          {"token": body["token"], "amount_fen": body["amount_fen"]}),
                      "amount_fen": body["amount_fen"], "default_scenario": default_scenario,
                      "hold_id": uuid.uuid4(), "expires_at": expires, "created_iso": _iso(now),
                      "expires_iso": _iso(expires), "hold_log_id": uuid.uuid4()}
            return _answer(start_response, conn.execute(_PC_AUTHORIZE, params).fetchone()[0])
        if captured is not None:
            bill_id, due = uuid.uuid4(), now + timedelta(days=7)
            amount = body["amount_fen"]
            params = {"partner_id": partner.id, "key": body["out_bill_no"], "hash": _digest(
                          {"authorization_id": captured.group(1), "amount_fen": amount}),
                      "hold_id": uuid.UUID(captured.group(1)), "amount_fen": amount,
                      "bill_id": bill_id, "now": now, "due_at": due, "created_iso": _iso(now),
                      "due_iso": _iso(due), "note_id": uuid.uuid4(),
                      "note_key": f"credit-bill:{bill_id}",
                      "body_zh": f"{partner.name} 账单 {amount / 100:.2f} 元",
                      "body_en": f"{partner.name} posted a bill of ¥{amount / 100:.2f}",
                      "note_data": json.dumps({"bill_id": str(bill_id), "amount_fen": amount,
                                               "due_at": _iso(due)})}
            return _answer(start_response, conn.execute(_PC_CAPTURE, params).fetchone()[0])
        claims = claims_of(body["token"])
        redemption_id = uuid.uuid4()
        answer = {"redemption_id": str(redemption_id), "sub": claims["sub"],
                  "points": body["points"], "out_order_no": body["out_order_no"],
                  "refunded": 0, "refundable": body["points"], "created_at": _iso(now)}
        params = {**consume_args(claims, partner, now), "key": body["out_order_no"],
                  "hash": _digest({"token": body["token"], "points": body["points"]}),
                  "points": body["points"], "redemption_id": redemption_id,
                  "transfer_id": uuid.uuid4(), "answer": json.dumps(answer),
                  "exclusions": shipped_exclusions(claims["scn"])}
        return _answer(start_response, conn.execute(_PC_REDEEM, params).fetchone()[0])

    return app


def token_issue_floor() -> Any:
    """A resident's token issue with no framework: see the module's docstring."""
    from app import create_app
    from app.api.tokens.schemas import token_answer
    from app.runtime import EXTENSION, Runtime
    from rewards.entitlements import checked_read, issue_checked

    flask_app = create_app()
    services: Runtime = flask_app.extensions[EXTENSION]
    spec = services.settings["RATE_LIMIT_TOKENS"]
    with flask_app.app_context():
        services.warm()  # as gunicorn.conf.py warms the service: the active model parsed

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != TOKENS_PATH:
            return flask_app(environ, start_response)
        body = _body(environ)
        bearer = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        now = services.clock.now()
        with services.uow() as uow:
            checked = checked_read(uow, bearer, scenario=body["scenario"],
                                   partner=body["partner"], now=now)
            assert checked is not None, "the bench's residents have current scores"
            services.limiter.hit(spec, f"tokens:{checked.resident_id}")
            issued = issue_checked(uow, checked, scenario=body["scenario"],
                                   partner=body["partner"], now=now, ctx=services.tokens)
        return _answer(start_response, token_answer(issued))

    return app


def score_floor() -> Any:
    """A resident's score read with no framework: see the module's docstring."""
    from app import create_app
    from app.api.scores.routes import _ANSWER, _scale
    from app.runtime import EXTENSION, Runtime
    from scoring.read import current_read

    flask_app = create_app()
    services: Runtime = flask_app.extensions[EXTENSION]
    with flask_app.app_context():
        services.warm()  # as gunicorn.conf.py warms the service: the active model parsed

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != SCORE_PATH:
            return flask_app(environ, start_response)
        bearer = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        with services.uow() as uow:
            found = current_read(uow, bearer, now=services.clock.now(), lang="zh")
        assert found is not None, "the bench's residents have current scores"
        return _answer(start_response,
                       _ANSWER({**found.answer, "scale": _scale(found.model, "zh")}))

    return app


def token_issue_minimal() -> Any:
    """A resident's token issue as the least code could do it (issue 26, target 3): what
    `token_issue_floor` does — the same two statements, the same Redis round trip, the same
    signature, the same QR — written straight on the drivers, with none of the service's
    domain layers between them: the checks row read by index, the stored score re-derived
    from its inputs by the engine (`score_one`, the inputs' hash), the limit counted with
    one `INCR` pipelined with its `EXPIRE`, the claims signed with the key directly (no
    PyJWT), the row written with `rewards.tokens`' statement. The eligibility rule is the
    scenario's minimum tier only (what the bench's residents need: no exclusion, no
    override), so it is a lower bound for any implementation of the endpoint, not one."""
    import secrets

    import psycopg
    import redis

    from app import create_app
    from app.api.tokens.schemas import token_answer
    from app.runtime import EXTENSION, Runtime
    from core import pgcall
    from core.identity import hash_key
    from rewards.entitlements import _Checks, _with_session_and_score
    from rewards.scenarios import TIERS, defaults
    from rewards.token_format import TYP, Claims
    from rewards.tokens import _REMEMBER, Issued, new_code
    from scoring.engine import score_one
    from scoring.explain import inputs_hash
    from scoring.services import parsed

    flask_app = create_app()
    services: Runtime = flask_app.extensions[EXTENSION]
    url = flask_app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with flask_app.app_context():
        services.warm()
        sql, fixed = pgcall.compiled("token_checks_with_session", services.engine.dialect,
                                     _with_session_and_score)
        with services.uow() as uow:
            kid, private = services.signer.active(uow.session, "token")
    fast = redis.Redis.from_url(flask_app.config["REDIS_URL"])
    catalogue = defaults()
    header = _b64(json.dumps({"alg": "EdDSA", "kid": kid, "typ": TYP}).encode())
    local = threading.local()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != TOKENS_PATH:
            return flask_app(environ, start_response)
        body = _body(environ)
        bearer = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        scenario = catalogue[body["scenario"]]
        now = datetime.now(UTC)
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        row = conn.execute(sql, {**fixed, "h": hash_key(bearer), "now": now,
                                 "scenario": scenario.code, "purpose": scenario.purpose,
                                 "client_id": body["partner"]}).fetchone()
        resident_id, _version, categories, model_id, spec_hash, *rest = row
        stored, (expires_at, revoked_at, _status) = rest[:10], rest[-3:]
        checks = _Checks(*rest[10:-3])  # the service's names for the checks' columns
        _id, _model, _score, stored_tier, _at, _basis, inputs, stored_hash, _shown, _until \
            = stored  # `scoring.read.DECISION_COLUMNS`
        model = parsed(spec_hash)
        values = [math.nan if inputs["features"][f.code] is None
                  else float(inputs["features"][f.code]) for f in model.features]
        tier = model.tier_for(score_one(model, values).score).code
        assert (categories is not None and model.id == model_id and revoked_at is None
                and expires_at > now and tier == stored_tier
                and inputs_hash(inputs) == stored_hash and checks.partner_id is not None
                and checks.consent_since is not None and not checks.exclusions
                and TIERS.index(tier) >= TIERS.index(scenario.min_tier)), \
            "the bench's residents are eligible"
        key = f"pc:rl:tokens:{resident_id}"
        with fast.pipeline(transaction=False) as pipe:
            pipe.incr(key).expire(key, 60, nx=True).execute()
        iat = int(now.timestamp())
        claims = Claims(iss=services.tokens.issuer, aud=body["partner"],
                        sub=services.keyring.pseudonym(f"partner:{body['partner']}",
                                                       resident_id),
                        scn=scenario.code, ent=dict(scenario.discloses), iat=iat,
                        exp=iat + scenario.token_ttl_seconds, jti=secrets.token_urlsafe(16))
        signing = header + b"." + _b64(json.dumps(claims.public()).encode())
        token = (signing + b"." + _b64(private.sign(signing))).decode()
        expires = datetime.fromtimestamp(claims.exp, UTC)
        code = new_code()
        conn.execute(_REMEMBER, {
            "jti": claims.jti, "sub": claims.sub, "partner_id": checks.partner_id,
            "resident_id": resident_id, "scenario": scenario.code,
            "limits": json.dumps(scenario.limits.get(tier) or scenario.limits[scenario.min_tier]),
            "token": token, "issued_at": now, "expires_at": expires, "code": code})
        return _answer(start_response, token_answer(Issued(token, code, expires, claims)))

    return app


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")
