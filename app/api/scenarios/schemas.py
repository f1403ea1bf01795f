"""What the scenario catalogue takes and answers.

    ScenarioSchema().dump(scenario)   # a `rewards.scenarios.Scenario` → the answer
"""

from __future__ import annotations

import marshmallow as ma

from app.api.common import Bilingual


class ScenarioSchema(ma.Schema):
    """A `rewards.scenarios.Scenario`, its version included."""

    code = ma.fields.String()
    domain = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    description = ma.fields.Nested(Bilingual)
    partner_kinds = ma.fields.List(ma.fields.String())
    min_tier = ma.fields.String()
    min_score = ma.fields.Integer(allow_none=True)
    limits = ma.fields.Dict(metadata={"description": "tier -> limits, e.g. {limit_fen: 200000}"})
    exclusions = ma.fields.List(ma.fields.String())
    discloses = ma.fields.List(ma.fields.String(),
                               metadata={"description": "the keys of the token's `ent` claim"})
    token_ttl_seconds = ma.fields.Integer()
    active = ma.fields.Boolean()
    version = ma.fields.Integer(dump_only=True)


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
    discloses = ma.fields.List(ma.fields.String(), required=True)
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
    discloses = ma.fields.List(ma.fields.String())
    token_ttl_seconds = ma.fields.Integer(strict=True)
    active = ma.fields.Boolean()


class ScenarioPartnerSchema(ma.Schema):
    client_id = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()


class ScenarioPartnerListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ScenarioPartnerSchema))
