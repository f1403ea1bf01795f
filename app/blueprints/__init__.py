"""Blueprints, one per area, registered in one flat list."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.config import is_development


def register(api: Api, app: Flask) -> None:
    from app.blueprints import (
        consent,
        demo,
        ingest,
        notifications,
        residents,
        scenarios,
        scores,
        tokens,
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
    tokens.bind_context(app)
    for blp in (wellknown.blp, residents.blp, ingest.blp, scores.blp, consent.blp,
                scenarios.blp, scenarios.admin, tokens.blp, tokens.partner_blp,
                notifications.blp):
        api.register_blueprint(blp)
    if is_development(app.config):
        api.register_blueprint(demo.blp)
