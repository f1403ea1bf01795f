"""Entitlements and partner tokens: `/api/v1/me/entitlements`, `/api/v1/me/tokens`,
`/api/v1/me/access-log` (resident), `/partner/v1/tokens/introspect` and
`/partner/v1/tokens/consume` (partner)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView

from app import auth
from app.api.common import PARTNER, RESIDENT, Blueprint
from app.api.tokens.schemas import (
    INTROSPECT_BODY,
    AccessLogSchema,
    AccessQuerySchema,
    ConsumeSchema,
    EntitlementListSchema,
    IntrospectionSchema,
    IntrospectSchema,
    TokenRequestSchema,
    TokenSchema,
    TokenUseSchema,
    token_answer,
)
from app.ratelimit import enforce
from app.runtime import runtime
from core.db import UnitOfWork
from rewards import access, token_use, tokens
from rewards.entitlements import (
    checked_read,
    describe,
    entitlements,
    issue_checked,
    issue_token,
)
from rewards.tokens import Issued

blp = Blueprint("entitlements", __name__, url_prefix="/api/v1/me",
                description="The resident's entitlements, tokens and access log")
partner_blp = Blueprint("tokens", __name__, url_prefix="/partner/v1/tokens",
                        description="Partners check a resident's token, and use it up")


@blp.route("/entitlements")
class Entitlements(MethodView):
    @blp.response(200, EntitlementListSchema)
    @blp.doc(security=RESIDENT)
    def get(self) -> dict[str, Any]:
        """Every scenario: eligible or not and why, limits, consent still missing."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            found = entitlements(uow, resident, now=runtime().clock.now())
        return {"items": [describe(e) for e in found]}


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.arguments(TokenRequestSchema())
    @blp.response(201, TokenSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body: dict[str, Any]) -> tuple[Response, int]:
        """A short-lived token (and its QR code) to show the partner you are at."""
        with runtime().uow() as uow:
            issued = _issue(uow, scenario=body["scenario"], partner=body["partner"],
                            now=runtime().clock.now())
        return jsonify(token_answer(issued)), 201  # TokenSchema's answer, written directly


def _issue(uow: UnitOfWork, *, scenario: str, partner: str, now: datetime) -> Issued:
    """The session's resident, rate-limited, issued a token: in the common case (a live
    session, a current stored score) from one read (`checked_read`, `issue_checked`), else by
    the general path (`auth.resident`, `issue_token`), which refuses or recomputes."""
    limit, ctx = runtime().settings["RATE_LIMIT_TOKENS"], runtime().tokens
    checked = checked_read(uow, auth.bearer(), scenario=scenario, partner=partner, now=now)
    if checked is not None:
        auth.acting_resident(checked.resident_id)
        enforce(f"tokens:{checked.resident_id}", limit)
        return issue_checked(uow, checked, scenario=scenario, partner=partner, now=now, ctx=ctx)
    resident = auth.resident(uow)
    enforce(f"tokens:{resident.id}", limit)
    return issue_token(uow, resident, scenario=scenario, partner=partner, now=now, ctx=ctx)


@blp.route("/access-log")
class AccessLog(MethodView):
    @blp.arguments(AccessQuerySchema(), location="query")
    @blp.response(200, AccessLogSchema)
    @blp.doc(security=RESIDENT)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Who checked or used your tokens, when, and what they learned (查询记录)."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": access.entries(uow.session, resident.id, limit=query["limit"],
                                            before=query["before"])}


_INTROSPECT = IntrospectSchema()  # built once, not per request (~5% of an introspection)


@partner_blp.route("/introspect")
class Introspect(MethodView):
    @partner_blp.doc(requestBody=INTROSPECT_BODY)
    @partner_blp.response(200, IntrospectionSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self) -> Response:
        """RFC 7662, as JSON or as a form (`token=…`, the token or its code): for a live token
        addressed to you `{active, scope, scn, client_id, token_type, sub, aud, iss, iat, exp,
        jti, ent}` (and `token`, the JWS, when asked with a code); else exactly
        `{active: false}`. Does not use the token up."""
        body = partner_blp.ARGUMENTS_PARSER.parse(_INTROSPECT, request, location="json_or_form")
        with runtime().uow(autocommit=True) as uow:
            partner = auth.partner(uow)
            answer = tokens.introspect(uow, body["token"], partner=partner,
                                       now=runtime().clock.now(), ctx=runtime().tokens)
        # IntrospectionSchema documents the answer; `tokens.introspect` builds exactly its
        # members (a test proves the schema's dump changes nothing), so it is written directly.
        return jsonify(answer)


@partner_blp.route("/consume")
class Consume(MethodView):
    @partner_blp.arguments(ConsumeSchema())
    @partner_blp.response(201, TokenUseSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Use up a token whose scenario has no hold, waiver or redemption (减材料, 优先办理,
        discounts…); idempotent by out_use_no. A discount above the resident's is
        `limit_exceeded`."""
        return token_use.use(runtime().uow, body["token"], partner=auth.calling_partner(),
                             out_use_no=body["out_use_no"], now=runtime().clock.now(),
                             ctx=runtime().tokens, discount_pct=body["discount_pct"])
