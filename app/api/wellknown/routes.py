"""Public, unauthenticated endpoints: published keys and health."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from app.api.wellknown.schemas import HealthSchema, JwksSchema
from app.runtime import runtime

blp = Blueprint("wellknown", __name__, url_prefix="/", description="Public keys and health")


@blp.route("/.well-known/jwks.json")
class Jwks(MethodView):
    @blp.response(200, JwksSchema)
    def get(self) -> Any:
        """Public Ed25519 keys: tokens, consent receipts, reports, audit checkpoints."""
        with runtime().uow() as uow:
            return runtime().signer.jwks(uow.session, runtime().clock.now())


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, str]:
        """Liveness and readiness: the database must answer; the fast store may be degraded."""
        # Its own tiny pool and a short timeout (DB_HEALTH_TIMEOUT_MS): never queued behind
        # requests that wait for the request pool or for a lock.
        with runtime().health_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        store = "ok" if runtime().store.healthy() else "degraded (in-process fallback)"
        return {"status": "ok", "database": "ok", "fast_store": store}
