"""What goes in and out of the entitlement, token and access-log endpoints."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.api.common import KEY, Bilingual, CodedReason
from core.qr import svg as qr_svg
from rewards import access
from rewards.models import AccessEntry
from rewards.tokens import Issued


class EntitlementSchema(ma.Schema):
    scenario = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    domain = ma.fields.String()
    eligible = ma.fields.Boolean()
    consent_given = ma.fields.Boolean()
    usable = ma.fields.Boolean(metadata={"description": "eligible and consented: ask a token"})
    reasons = ma.fields.List(ma.fields.Nested(CodedReason),
                             metadata={"description": "why not (only you see this)"})
    limits = ma.fields.Dict()
    missing_consent = ma.fields.List(ma.fields.String(),
                                     metadata={"description": "purposes to consent to"})
    min_tier = ma.fields.String()
    token_ttl_seconds = ma.fields.Integer()
    override = ma.fields.Dict(allow_none=True, metadata={"description": (
        "an eligibility override a human review granted, in force: {review_id, ends_at}")})


class EntitlementListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EntitlementSchema))


class TokenRequestSchema(ma.Schema):
    scenario = ma.fields.String(required=True, validate=ma.validate.Length(1, 40))
    partner = ma.fields.String(required=True, validate=ma.validate.Length(1, 40),
                               metadata={"description": "client_id of the partner you are at"})


class TokenSchema(ma.Schema):
    """An `Issued` token, with its QR code."""

    token = ma.fields.String(metadata={"description": "compact JWS (pc-entitlement+jwt)"})
    code = ma.fields.String(metadata={
        "description": "the same token as an 18-digit one-time code (what the QR shows and a "
                       "cashier can type): valid as long as the token, single use with it, "
                       "answered only to the partner it was issued for"})
    expires_at = ma.fields.DateTime()
    qr_svg = ma.fields.Method("_qr", metadata={"type": "string",
                                               "description": "the code as a QR code (SVG)"})
    scenario = ma.fields.String(attribute="claims.scn")
    partner = ma.fields.String(attribute="claims.aud")

    def _qr(self, issued: Issued) -> str:
        return qr_svg(issued.code)


def token_answer(issued: Issued) -> dict[str, Any]:
    """`TokenSchema().dump(issued)`, built directly (a test proves them equal): the schema
    documents the answer, this writes it on every token request without marshmallow's walk."""
    return {"token": issued.token, "code": issued.code,
            "expires_at": issued.expires_at.isoformat(), "qr_svg": qr_svg(issued.code),
            "scenario": issued.claims.scn, "partner": issued.claims.aud}


class AccessQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, access.MAX_PAGE))
    before = ma.fields.AwareDateTime(load_default=None)


class AccessActorSchema(ma.Schema):
    """Who: read from the entry's `actor_kind`, `actor_id` and `actor_name`."""

    kind = ma.fields.String(attribute="actor_kind")
    client_id = ma.fields.String(attribute="actor_id")
    name = ma.fields.String(attribute="actor_name")


class AccessEntrySchema(ma.Schema):
    """An `AccessEntry` as the resident sees it."""

    at = ma.fields.DateTime()
    actor = ma.fields.Nested(AccessActorSchema)
    action = ma.fields.String(metadata={"description": "introspect | consume"})
    scenario = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(metadata={"description": "active, consumed, or why not"})
    learned = ma.fields.Dict(metadata={"description": "exactly what the partner was told"})

    @ma.pre_dump
    def _with_actor(self, entry: AccessEntry, **_kwargs: Any) -> dict[str, Any]:
        """The entry's columns, and the entry itself as its `actor`."""
        return {"at": entry.at, "actor": entry, "action": entry.action,
                "scenario": entry.scenario, "outcome": entry.outcome, "learned": entry.learned}


class AccessLogSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AccessEntrySchema))


class IntrospectSchema(ma.Schema):
    """RFC 7662 §2.1: `token`; a `token_type_hint` is accepted and not needed."""

    class Meta:
        unknown = ma.EXCLUDE  # other RFC 7662 parameters a library may add

    # No length rule: any string that is not a live token of the caller's is `{active: false}`
    # (RFC 7662 §2.2), an oversized one included.
    token = ma.fields.String(required=True, metadata={
        "description": "the token (compact JWS) or its 18-digit one-time code"})
    token_type_hint = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 40))


# The same body as JSON or as a form (what OAuth libraries send).
INTROSPECT_BODY = {"required": True, "content": {
    "application/json": {"schema": IntrospectSchema},
    "application/x-www-form-urlencoded": {"schema": IntrospectSchema}}}


class IntrospectionSchema(ma.Schema):
    """RFC 7662 §2.2 members; an inactive token is exactly `{"active": false}`."""

    active = ma.fields.Boolean(required=True)
    scope = ma.fields.String(metadata={"description": "the scenario (same as scn)"})
    scn = ma.fields.String()
    client_id = ma.fields.String(metadata={"description": "you: the token's audience"})
    token_type = ma.fields.String(metadata={"description": "pc-entitlement+jwt"})
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    aud = ma.fields.String()
    iss = ma.fields.String()
    ent = ma.fields.Dict()
    iat = ma.fields.Integer()
    exp = ma.fields.Integer()
    jti = ma.fields.String()
    token = ma.fields.String(metadata={
        "description": "asked with a one-time code: the signed token (compact JWS) it stands "
                       "for, to keep and verify offline against the JWKS"})


class ConsumeSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(1, 4096),
                             metadata={"description": "the resident's token (信用码): the "
                                                      "compact JWS or its 18-digit code"})
    out_use_no = ma.fields.String(required=True, validate=KEY,
                                  metadata={"description": "your idempotency key for this use"})
    discount_pct = ma.fields.Integer(strict=True, load_default=None,
                                     validate=ma.validate.Range(1, 100), metadata={
                                         "description": "the discount you want to give, in "
                                                        "percent (discount scenarios): yes, or "
                                                        "`limit_exceeded` when it is more than "
                                                        "the resident's"})


class TokenUseSchema(ma.Schema):
    """A `rewards.token_use.TokenUse` (a first answer and its replay render alike)."""

    use_id = ma.fields.String(metadata={"description": "this use, for your records"})
    scn = ma.fields.String()
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    ent = ma.fields.Dict(metadata={"description": "the entitlement the token carried"})
    discount_pct = ma.fields.Integer(allow_none=True,
                                     metadata={"description": "what you asked for, if anything"})
