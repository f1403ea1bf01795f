"""Entitlements and partner tokens: `/api/v1/me/entitlements`, `/api/v1/me/tokens`,
`/api/v1/me/access-log` (resident) and `/partner/v1/tokens/introspect` (partner)."""

from __future__ import annotations

import marshmallow as ma
from flask import Flask
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.api.scenarios import routes as scenarios
from app.ratelimit import enforce
from app.runtime import runtime
from core.qr import svg as qr_svg
from rewards import access, token_format, tokens
from rewards.entitlements import describe, entitlements, issue_token

blp = Blueprint("entitlements", __name__, url_prefix="/api/v1/me",
                description="The resident's entitlements, tokens and access log")
partner_blp = Blueprint("tokens", __name__, url_prefix="/partner/v1/tokens",
                        description="Partners check a resident's token")


def bind_context(app: Flask) -> None:
    """Give token code (which never imports Flask) this app's keys, store and issuer."""
    rt = app.extensions["pengcheng"]
    for factory in (rt.session_factory, rt.autocommit_factory):
        token_format.bind(factory, rt.tokens)


class EntitlementReasonSchema(ma.Schema):
    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


class EntitlementSchema(ma.Schema):
    scenario = ma.fields.String()
    name = ma.fields.Nested(scenarios.ScenarioLangSchema)
    domain = ma.fields.String()
    eligible = ma.fields.Boolean()
    consent_given = ma.fields.Boolean()
    usable = ma.fields.Boolean(metadata={"description": "eligible and consented: ask a token"})
    reasons = ma.fields.List(ma.fields.Nested(EntitlementReasonSchema),
                             metadata={"description": "why not (only you see this)"})
    limits = ma.fields.Dict()
    missing_consent = ma.fields.List(ma.fields.String(),
                                     metadata={"description": "purposes to consent to"})
    min_tier = ma.fields.String()
    token_ttl_seconds = ma.fields.Integer()


class EntitlementListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EntitlementSchema))


class TokenRequestSchema(ma.Schema):
    scenario = ma.fields.String(required=True, validate=ma.validate.Length(1, 40))
    partner = ma.fields.String(required=True, validate=ma.validate.Length(1, 40),
                               metadata={"description": "client_id of the partner you are at"})


class TokenSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "compact JWS (pc-entitlement+jwt)"})
    expires_at = ma.fields.DateTime()
    qr_svg = ma.fields.String(metadata={"description": "the token as a QR code (SVG)"})
    scenario = ma.fields.String()
    partner = ma.fields.String()


class AccessQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, access.MAX_PAGE))
    before = ma.fields.AwareDateTime(load_default=None)


class AccessActorSchema(ma.Schema):
    kind = ma.fields.String()
    client_id = ma.fields.String()
    name = ma.fields.String()


class AccessEntrySchema(ma.Schema):
    at = ma.fields.DateTime()
    actor = ma.fields.Nested(AccessActorSchema)
    action = ma.fields.String(metadata={"description": "introspect | consume"})
    scenario = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(metadata={"description": "active, consumed, or why not"})
    learned = ma.fields.Dict(metadata={"description": "exactly what the partner was told"})


class AccessLogSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AccessEntrySchema))


class IntrospectSchema(ma.Schema):
    token = ma.fields.String(required=True)


class IntrospectionSchema(ma.Schema):
    active = ma.fields.Boolean(required=True)
    scn = ma.fields.String()
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    ent = ma.fields.Dict()
    exp = ma.fields.Integer()


@blp.route("/entitlements")
class Entitlements(MethodView):
    @blp.response(200, EntitlementListSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self):
        """Every scenario: eligible or not and why, limits, consent still missing."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            found = entitlements(uow, resident, now=runtime().clock.now())
        return {"items": [describe(e) for e in found]}


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.arguments(TokenRequestSchema())
    @blp.response(201, TokenSchema)
    @blp.doc(security=[{"residentSession": []}])
    def post(self, body):
        """A short-lived token (and its QR code) to show the partner you are at."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            enforce(f"tokens:{resident.id}", runtime().settings["RATE_LIMIT_TOKENS"])
            issued = issue_token(uow, resident, scenario=body["scenario"],
                                 partner=body["partner"], now=runtime().clock.now())
        qr = qr_svg(issued.token)
        return {"token": issued.token, "expires_at": issued.expires_at, "qr_svg": qr,
                "scenario": issued.claims.scn, "partner": issued.claims.aud}


@blp.route("/access-log")
class AccessLog(MethodView):
    @blp.arguments(AccessQuerySchema(), location="query")
    @blp.response(200, AccessLogSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self, query):
        """Who checked or used your tokens, when, and what they learned (查询记录)."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            found = access.entries(uow.session, resident.id, limit=query["limit"],
                                   before=query["before"])
        return {"items": [
            {"at": e.at, "actor": {"kind": e.actor_kind, "client_id": e.actor_id,
                                   "name": e.actor_name},
             "action": e.action, "scenario": e.scenario, "outcome": e.outcome,
             "learned": e.learned} for e in found]}


@partner_blp.route("/introspect")
class Introspect(MethodView):
    @partner_blp.arguments(IntrospectSchema())
    @partner_blp.response(200, IntrospectionSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, body):
        """RFC 7662: {active, scn, sub, ent, exp} for a live token addressed to you; else
        {active: false}. Does not use the token up."""
        with runtime().uow(autocommit=True) as uow:
            partner = auth.partner(uow)
            return tokens.introspect(uow, body["token"], partner=partner,
                                     now=runtime().clock.now())
