"""Demo login for seeded residents. Registered only when PENGCHENG_ENV=development."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.api.common import Blueprint
from app.api.demo.schemas import DemoLoginSchema, DemoResidentSchema
from app.api.residents.routes import open_session_for
from app.api.residents.schemas import SessionSchema
from app.runtime import runtime
from core.demo import DemoResident, demo_identity, demo_residents
from core.errors import NotFound
from core.sessions import OpenedSession

blp = Blueprint("demo", __name__, url_prefix="/api/v1/auth/demo",
                description="Development only: sign in as a seeded demo resident")


@blp.route("/residents")
class DemoResidents(MethodView):
    @blp.response(200, DemoResidentSchema(many=True))
    def get(self) -> list[DemoResident]:
        """Seeded demo residents one may sign in as (development mode only)."""
        with runtime().uow() as uow:
            return demo_residents(uow.session, runtime().keyring, limit=20)


@blp.route("")
class DemoLogin(MethodView):
    @blp.arguments(DemoLoginSchema())
    @blp.response(201, SessionSchema)
    def post(self, body: dict[str, Any]) -> OpenedSession:
        """Sign in as a seeded demo resident without the identity provider."""
        with runtime().uow() as uow:
            claims = demo_identity(uow.session, runtime().keyring, body["resident_id"])
        if claims is None:
            raise NotFound("no seeded demo resident with that id")
        return open_session_for(claims, "demo")
