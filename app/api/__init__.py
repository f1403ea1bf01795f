"""The HTTP layer, one package per area: `app/api/<area>/routes.py` (blueprints; handlers
parse, call one use case, render; they never commit) and `schemas.py` (marshmallow schemas of
what goes in and out). `register` adds every area's blueprints to the app in one flat list.

    app/api/points/routes.py   @blp.route("/redemptions") … return schemas.Redemption().dump(…)
    app/api/points/schemas.py  class RedemptionSchema(ma.Schema): …
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.api.common import register_field_types
from app.config import is_development
from app.openapi_errors import RefusalsPlugin


def register(api: Api, app: Flask) -> None:
    from app.api.audit import routes as audit
    from app.api.consent import routes as consent
    from app.api.demo import routes as demo
    from app.api.ingest import routes as ingest
    from app.api.ingest.schemas import RecordInSchema
    from app.api.medical_credit import routes as medical
    from app.api.model import routes as public_model
    from app.api.notifications import routes as notifications
    from app.api.pages import routes as pages
    from app.api.points import routes as points
    from app.api.reports import routes as reports
    from app.api.residents import routes as residents
    from app.api.rights import admin as admin_rights
    from app.api.rights import routes as rights
    from app.api.scenarios import routes as scenarios
    from app.api.scores import routes as scores
    from app.api.settlement import routes as settlement
    from app.api.staff import routes as staff
    from app.api.tokens import routes as tokens
    from app.api.waivers import routes as waivers
    from app.api.webhooks import routes as webhooks
    from app.api.wellknown import routes as wellknown

    register_field_types(api)
    api.spec.components.security_scheme(
        "residentSession", {"type": "http", "scheme": "bearer", "description": "resident session"})
    api.spec.components.security_scheme(
        "partnerKey", {"type": "http", "scheme": "bearer", "description": "partner API key"})
    api.spec.components.security_scheme(
        "staffSession", {"type": "http", "scheme": "bearer",
                         "description": "counter staff session (POST /partner/v1/staff/sessions)"})
    api.spec.components.security_scheme(
        "sourceKey", {"type": "http", "scheme": "bearer", "description": "data source API key"})
    api.spec.components.security_scheme(
        "operatorKey", {"type": "http", "scheme": "bearer", "description": "operator API key"})
    api.spec.components.schema("RecordIn", schema=RecordInSchema)
    # Every operation's refusals, from the one registry (app/refusals.py).
    api.spec.plugins = [*api.spec.plugins, RefusalsPlugin()]
    for blp in (wellknown.blp, residents.blp, ingest.blp, scores.blp, consent.blp,
                public_model.blp, public_model.me,
                scenarios.blp, scenarios.admin, tokens.blp, tokens.partner_blp,
                notifications.blp, rights.blp, admin_rights.blp, medical.partner_blp,
                medical.blp, waivers.partner_blp, waivers.blp, points.partner_blp,
                points.blp, points.admin, reports.blp, reports.public, audit.blp,
                settlement.blp, settlement.admin,
                webhooks.partner_blp, webhooks.admin, staff.partner_blp, staff.admin):
        api.register_blueprint(blp)
    app.register_blueprint(pages.blp)  # the H5 pages (HTML, not in the OpenAPI document)
    if is_development(app.config):
        api.register_blueprint(demo.blp)
        api.register_blueprint(medical.demo_blp)
