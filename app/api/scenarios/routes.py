"""The scenario catalogue: public listing, partners per scenario, operator changes."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.runtime import runtime
from rewards import scenarios
from rewards.entitlements import serving_partners

blp = Blueprint("scenarios", __name__, url_prefix="/api/v1/scenarios",
                description="Scenarios where a good score unlocks a benefit")
admin = Blueprint("scenarios_admin", __name__, url_prefix="/admin/v1/scenarios",
                  description="Operators change the scenario catalogue (audited)")


class ScenarioLangSchema(ma.Schema):
    zh = ma.fields.String(required=True)
    en = ma.fields.String(required=True)


class ScenarioSchema(ma.Schema):
    code = ma.fields.String()
    domain = ma.fields.String()
    name = ma.fields.Nested(ScenarioLangSchema)
    description = ma.fields.Nested(ScenarioLangSchema)
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
    name = ma.fields.Nested(ScenarioLangSchema, required=True)
    description = ma.fields.Nested(ScenarioLangSchema)
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
    name = ma.fields.Nested(ScenarioLangSchema)
    description = ma.fields.Nested(ScenarioLangSchema)
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


def _out(s: scenarios.Scenario) -> dict:
    return {**s.as_dict(), "version": s.version}


@blp.route("")
class Scenarios(MethodView):
    @blp.response(200, ScenarioListSchema)
    def get(self):
        """The active scenarios: rules, limits by tier, what a partner learns."""
        with runtime().uow() as uow:
            found = scenarios.catalogue(uow.session)
        return {"items": [_out(s) for s in found.values()]}


@blp.route("/<string:code>/partners")
class ScenarioPartners(MethodView):
    @blp.response(200, ScenarioPartnerListSchema)
    def get(self, code):
        """Partners where a resident can use this scenario (pick one to get a token for)."""
        with runtime().uow() as uow:
            found = serving_partners(uow.session, scenarios.get(uow.session, code))
        return {"items": [{"client_id": p.client_id, "name": p.name, "kind": p.kind}
                          for p in found]}


@admin.route("")
class AdminScenarios(MethodView):
    @admin.response(200, ScenarioListSchema)
    @admin.doc(security=[{"operatorKey": []}])
    def get(self):
        """The whole catalogue, inactive scenarios and versions included."""
        with runtime().uow() as uow:
            auth.operator(uow)
            found = scenarios.catalogue(uow.session, include_inactive=True)
        return {"items": [_out(s) for s in found.values()]}


@admin.route("/<string:code>")
class AdminScenario(MethodView):
    @admin.arguments(ScenarioInSchema())
    @admin.response(200, ScenarioSchema)
    @admin.doc(security=[{"operatorKey": []}])
    def put(self, body, code):
        """Create or replace a scenario (admin role; validated whole; audited)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, "admin")
            return _out(scenarios.put(uow, code, body, actor=f"operator:{operator.client_id}",
                                      now=runtime().clock.now()))

    @admin.arguments(ScenarioPatchSchema())
    @admin.response(200, ScenarioSchema)
    @admin.doc(security=[{"operatorKey": []}])
    def patch(self, body, code):
        """Change some fields of a scenario, e.g. a limit or `active` (admin role; audited)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, "admin")
            return _out(scenarios.put(uow, code, body, actor=f"operator:{operator.client_id}",
                                      now=runtime().clock.now(), merge=True))
