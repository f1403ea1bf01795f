"""Blueprints, one per area, registered in one flat list."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.config import is_development
from app.openapi_errors import RefusalsPlugin


def register(api: Api, app: Flask) -> None:
    from app.blueprints import (
        admin_rights,
        consent,
        demo,
        ingest,
        medical,
        notifications,
        pages,
        points,
        reports,
        residents,
        rights,
        scenarios,
        scores,
        tokens,
        waivers,
        wellknown,
    )

    api.spec.components.security_scheme(
        "residentSession", {"type": "http", "scheme": "bearer", "description": "resident session"})
    api.spec.components.security_scheme(
        "partnerKey", {"type": "http", "scheme": "bearer", "description": "partner API key"})
    api.spec.components.security_scheme(
        "sourceKey", {"type": "http", "scheme": "bearer", "description": "data source API key"})
    api.spec.components.security_scheme(
        "operatorKey", {"type": "http", "scheme": "bearer", "description": "operator API key"})
    api.spec.components.schema("RecordIn", schema=ingest.RecordInSchema)
    # Every operation's refusals, from the one registry (app/refusals.py).
    api.spec.plugins = [*api.spec.plugins, RefusalsPlugin()]
    tokens.bind_context(app)
    for blp in (wellknown.blp, residents.blp, ingest.blp, scores.blp, consent.blp,
                scenarios.blp, scenarios.admin, tokens.blp, tokens.partner_blp,
                notifications.blp, rights.blp, admin_rights.blp, medical.partner_blp,
                medical.blp, waivers.partner_blp, waivers.blp, points.partner_blp,
                points.blp, points.admin, reports.blp, reports.public):
        api.register_blueprint(blp)
    app.register_blueprint(pages.blp)  # the H5 pages (HTML, not in the OpenAPI document)
    if is_development(app.config):
        api.register_blueprint(demo.blp)
        api.register_blueprint(medical.demo_blp)
