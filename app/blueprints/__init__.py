"""Blueprints, one per area, registered in one flat list."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.config import is_development


def register(api: Api, app: Flask) -> None:
    from app.blueprints import demo, ingest, residents, scores, wellknown

    api.spec.components.security_scheme(
        "residentSession", {"type": "http", "scheme": "bearer", "description": "resident session"})
    api.spec.components.security_scheme(
        "partnerKey", {"type": "http", "scheme": "bearer", "description": "partner API key"})
    api.spec.components.security_scheme(
        "sourceKey", {"type": "http", "scheme": "bearer", "description": "data source API key"})
    api.spec.components.security_scheme(
        "operatorKey", {"type": "http", "scheme": "bearer", "description": "operator API key"})
    api.spec.components.schema("RecordIn", schema=ingest.RecordInSchema)
    for blp in (wellknown.blp, residents.blp, ingest.blp, scores.blp):
        api.register_blueprint(blp)
    api.register_blueprint(__import__("app.blueprints.consent", fromlist=["blp"]).blp)
    __import__("app.blueprints.tokens", fromlist=["register"]).register(api, app)
    if is_development(app.config):
        api.register_blueprint(demo.blp)
