"""The scenario catalogue: public listing, partners per scenario, operator changes."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app import auth
from app.api.common import OPERATOR, Blueprint
from app.api.consent.schemas import NoticeLanguageQuerySchema, NoticeSchema, notice_in
from app.api.scenarios.schemas import (
    NoticeInSchema,
    NoticePublishedSchema,
    ScenarioInSchema,
    ScenarioListSchema,
    ScenarioPartnerListSchema,
    ScenarioPatchSchema,
    ScenarioSchema,
)
from app.runtime import runtime
from consent import notices
from consent.notices import Published
from rewards import scenarios
from rewards.entitlements import serving_partners

blp = Blueprint("scenarios", __name__, url_prefix="/api/v1/scenarios",
                description="Scenarios where a good score unlocks a benefit")
admin = Blueprint("scenarios_admin", __name__, url_prefix="/admin/v1/scenarios",
                  description="Operators change the scenario catalogue (audited)")




@blp.route("")
class Scenarios(MethodView):
    @blp.response(200, ScenarioListSchema)
    def get(self) -> dict[str, Any]:
        """The active scenarios: rules, limits by tier, what a partner learns, whether available."""
        with runtime().uow() as uow:
            found = scenarios.catalogue(uow.session)
        return {"items": list(found.values())}


@blp.route("/<string:code>/partners")
class ScenarioPartners(MethodView):
    @blp.response(200, ScenarioPartnerListSchema)
    def get(self, code: str) -> dict[str, Any]:
        """Partners where a resident can use this scenario (pick one to get a token for)."""
        with runtime().uow() as uow:
            found = serving_partners(uow.session, scenarios.get(uow.session, code))
        return {"items": found}


@admin.route("")
class AdminScenarios(MethodView):
    @admin.response(200, ScenarioListSchema)
    @admin.doc(security=OPERATOR)
    def get(self) -> dict[str, Any]:
        """The whole catalogue, inactive scenarios and versions included."""
        with runtime().uow() as uow:
            auth.operator(uow)
            found = scenarios.catalogue(uow.session, include_inactive=True)
        return {"items": list(found.values())}


@admin.route("/<string:code>")
class AdminScenario(MethodView):
    @admin.arguments(ScenarioInSchema())
    @admin.response(200, ScenarioSchema)
    @admin.doc(security=OPERATOR)
    def put(self, body: dict[str, Any], code: str) -> scenarios.Scenario:
        """Create or replace a scenario (admin role; validated whole; audited)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, "admin")
            return scenarios.put(uow, code, body, actor=f"operator:{operator.client_id}",
                                  now=runtime().clock.now())

    @admin.arguments(ScenarioPatchSchema())
    @admin.response(200, ScenarioSchema)
    @admin.doc(security=OPERATOR)
    def patch(self, body: dict[str, Any], code: str) -> scenarios.Scenario:
        """Change some fields of a scenario, e.g. a limit or `active` (admin role; audited)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, "admin")
            return scenarios.put(uow, code, body, actor=f"operator:{operator.client_id}",
                                  now=runtime().clock.now(), merge=True)


@admin.route("/<string:code>/notices")
class AdminScenarioNotices(MethodView):
    @admin.arguments(NoticeLanguageQuerySchema(), location="query")
    @admin.response(200, NoticeSchema(many=True))
    @admin.doc(security=OPERATOR)
    def get(self, query: dict[str, Any], code: str) -> list[dict[str, Any]]:
        """Every published version of the scenario's consent notice, oldest first."""
        with runtime().uow() as uow:
            auth.operator(uow)
            found = notices.listing(uow.session, purpose=f"scenario:{code}", all_versions=True)
            return [notice_in(n, query["language"]) for n in found]

    @admin.arguments(NoticeInSchema())
    @admin.response(201, NoticePublishedSchema)
    @admin.doc(security=OPERATOR)
    def post(self, body: dict[str, Any], code: str) -> Published:
        """Publish the next version of the scenario's consent notice (admin role; audited)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, "admin")
            return scenarios.publish_notice(uow, code, body,
                                            actor=f"operator:{operator.client_id}",
                                            now=runtime().clock.now())
