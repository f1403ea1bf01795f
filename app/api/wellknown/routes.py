"""Public, unauthenticated endpoints: published keys and health."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from app.runtime import runtime

blp = Blueprint("wellknown", __name__, url_prefix="/", description="Public keys and health")


class JwkSchema(ma.Schema):
    kty = ma.fields.String()
    crv = ma.fields.String()
    x = ma.fields.String()
    kid = ma.fields.String()
    alg = ma.fields.String()
    use = ma.fields.String()


class JwksSchema(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(JwkSchema))


class HealthSchema(ma.Schema):
    status = ma.fields.String()
    database = ma.fields.String()
    fast_store = ma.fields.String()



@blp.route("/.well-known/jwks.json")
class Jwks(MethodView):
    @blp.response(200, JwksSchema)
    def get(self):
        """Public Ed25519 keys: tokens, consent receipts, reports, audit checkpoints."""
        with runtime().uow() as uow:
            return runtime().signer.jwks(uow.session, runtime().clock.now())


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """Liveness and readiness: the database must answer; the fast store may be degraded."""
        # Its own tiny pool and a short timeout (DB_HEALTH_TIMEOUT_MS): never queued behind
        # requests that wait for the request pool or for a lock.
        with runtime().health_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        store = "ok" if runtime().store.healthy() else "degraded (in-process fallback)"
        return {"status": "ok", "database": "ok", "fast_store": store}
