"""What the scenario catalogue takes and answers.

    ScenarioSchema().dump(scenario)   # a `rewards.scenarios.Scenario` → the answer
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.api.common import Bilingual
from app.api.consent.schemas import NoticeRecipientSchema, NoticeSchema, notice_in
from consent.catalogue import VALIDITY_DAYS
from consent.notices import Published


class NoticeRefSchema(ma.Schema):
    """A scenario's current consent notice (`GET /api/v1/notices/{id}` has its text)."""

    id = ma.fields.UUID()
    version = ma.fields.Integer()
    hash = ma.fields.String(metadata={"description": "SHA-256 of the canonical notice document"})
    published_at = ma.fields.DateTime()


class ScenarioSchema(ma.Schema):
    """A `rewards.scenarios.Scenario`, its version and its current notice included."""

    code = ma.fields.String()
    domain = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    description = ma.fields.Nested(Bilingual)
    partner_kinds = ma.fields.List(ma.fields.String())
    min_tier = ma.fields.String()
    min_score = ma.fields.Integer(allow_none=True)
    limits = ma.fields.Dict(metadata={"description": "tier -> limits, e.g. {limit_fen: 200000}"})
    exclusions = ma.fields.List(ma.fields.String())
    discloses = ma.fields.Dict(metadata={"description": (
        "the token's `ent` claim: fields of the allow-list (eligible, commitment, priority), "
        "each with one fixed value (true or false) for every eligible resident; limits are "
        "never disclosed, the service enforces them when a partner asks for an amount")})
    token_ttl_seconds = ma.fields.Integer()
    active = ma.fields.Boolean()
    version = ma.fields.Integer(dump_only=True)
    available = ma.fields.Boolean(dump_only=True, metadata={
        "description": "false until the scenario's consent notice is published: nobody can "
                       "consent to it or get a token for it yet"})
    notice = ma.fields.Nested(NoticeRefSchema, dump_only=True, allow_none=True)


class ScenarioListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ScenarioSchema))


class ScenarioInSchema(ma.Schema):
    """A whole scenario definition (PUT) or the fields to change (PATCH)."""

    domain = ma.fields.String(required=True)
    name = ma.fields.Nested(Bilingual, required=True)
    description = ma.fields.Nested(Bilingual)
    partner_kinds = ma.fields.List(ma.fields.String(), required=True)
    min_tier = ma.fields.String(required=True)
    min_score = ma.fields.Integer(required=True, allow_none=True, strict=True)
    limits = ma.fields.Dict(required=True)
    exclusions = ma.fields.List(ma.fields.String(), required=True)
    discloses = ma.fields.Dict(required=True)
    token_ttl_seconds = ma.fields.Integer(required=True, strict=True)
    active = ma.fields.Boolean(required=True)


class ScenarioPatchSchema(ma.Schema):
    """The fields of a scenario to change; the rest stay as they are."""

    domain = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    description = ma.fields.Nested(Bilingual)
    partner_kinds = ma.fields.List(ma.fields.String())
    min_tier = ma.fields.String()
    min_score = ma.fields.Integer(allow_none=True, strict=True)
    limits = ma.fields.Dict()
    exclusions = ma.fields.List(ma.fields.String())
    discloses = ma.fields.Dict()
    token_ttl_seconds = ma.fields.Integer(strict=True)
    active = ma.fields.Boolean()


class ScenarioPartnerSchema(ma.Schema):
    client_id = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()


class ScenarioPartnerListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ScenarioPartnerSchema))


class NoticeRecipientInSchema(NoticeRecipientSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    name_zh = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    name_en = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))


def _text(limit: int) -> ma.fields.String:
    return ma.fields.String(required=True, validate=ma.validate.Length(1, limit))


class NoticeInSchema(ma.Schema):
    """A scenario's notice, whole: what the resident reads and consents to (zh and en)."""

    title_zh = _text(200)
    title_en = _text(200)
    text_zh = _text(20000)
    text_en = _text(20000)
    categories = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 64)),
                                required=True, validate=ma.validate.Length(max=64), metadata={
                                    "description": "the data categories the consent covers"})
    separate_consent_categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 64)), load_default=list,
        validate=ma.validate.Length(max=64))
    recipients = ma.fields.List(ma.fields.Nested(NoticeRecipientInSchema), required=True,
                                validate=ma.validate.Length(1, 20), metadata={
                                    "description": "who learns something when a token is shown"})
    retention = _text(80)
    requires_separate_consent = ma.fields.Boolean(required=True, metadata={
        "description": "must be true: a partner learns the entitlement (PIPL art. 23)"})
    validity_days = ma.fields.Integer(load_default=VALIDITY_DAYS, allow_none=True, strict=True,
                                      validate=ma.validate.Range(1, 3650), metadata={
                                          "description": "consents are asked again after this"})


class NoticePublishedSchema(NoticeSchema):
    """A `consent.notices.Published`: the new version (in zh) and what it did to consents."""

    material = ma.fields.Boolean(metadata={
        "description": "categories, recipients or separate consent changed: consents under "
                       "older versions were invalidated and residents are asked again"})
    invalidated = ma.fields.Integer(metadata={"description": "consents invalidated"})

    @ma.pre_dump
    def _published(self, found: Published, **_: Any) -> dict[str, Any]:
        return {**notice_in(found.notice, "zh"), "material": found.material,
                "invalidated": found.invalidated}
