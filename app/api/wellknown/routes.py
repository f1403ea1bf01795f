"""Public, unauthenticated endpoints: published keys (one JWKS per key purpose) and health."""

from __future__ import annotations

from flask import Response, jsonify
from flask.views import MethodView
from sqlalchemy import text

from app.api.common import Blueprint
from app.api.wellknown.schemas import HealthSchema, JwksSchema
from app.runtime import runtime
from rewards.scenarios import MAX_TOKEN_TTL

blp = Blueprint("wellknown", __name__, url_prefix="/", description="Public keys and health")


# How long a verifier may keep each document. Tokens: 5 minutes, the longest a token lives
# (MAX_TOKEN_TTL) — a key is published as `next` a whole rotation before it signs, so a cache
# never misses a new key, and after `pengcheng keys restart` (a restore) verifiers drop the
# withdrawn keys within that time. Receipts, reports and audit checkpoints are verified long
# after signing and their keys change rarely: an hour.
TOKEN_MAX_AGE = MAX_TOKEN_TTL
DOCUMENT_MAX_AGE = 3600


def _published(purpose: str, max_age: int) -> Response:
    with runtime().uow() as uow:
        document = runtime().signer.jwks(uow.session, runtime().clock.now(), (purpose,))
    response = jsonify(JwksSchema().dump(document))
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


@blp.route("/.well-known/jwks.json")
class Jwks(MethodView):
    @blp.response(200, JwksSchema)
    def get(self) -> Response:
        """The public Ed25519 keys that sign partner tokens (`use: sig`), and only those."""
        return _published("token", TOKEN_MAX_AGE)


@blp.route("/.well-known/receipt-keys.json")
class ReceiptKeys(MethodView):
    @blp.response(200, JwksSchema)
    def get(self) -> Response:
        """The public Ed25519 keys that sign consent receipts."""
        return _published("receipt", DOCUMENT_MAX_AGE)


@blp.route("/.well-known/report-keys.json")
class ReportKeys(MethodView):
    @blp.response(200, JwksSchema)
    def get(self) -> Response:
        """The public Ed25519 keys that sign credit reports."""
        return _published("report", DOCUMENT_MAX_AGE)


@blp.route("/.well-known/audit-keys.json")
class AuditKeys(MethodView):
    @blp.response(200, JwksSchema)
    def get(self) -> Response:
        """The public Ed25519 keys that sign audit-log checkpoints."""
        return _published("audit", DOCUMENT_MAX_AGE)


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
