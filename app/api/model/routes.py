"""The public model: `GET /api/v1/model` (its card) and `GET /api/v1/model/spec` (its text); and
the resident's own what-if, `POST /api/v1/me/score/simulate` (never stored)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Response, request
from flask.views import MethodView

from app import auth
from app.api.common import RESIDENT, Blueprint
from app.api.model.schemas import (
    ModelCardSchema,
    SimulateInSchema,
    SimulateQuerySchema,
    SimulationSchema,
    SpecQuerySchema,
)
from app.runtime import runtime
from scoring.monitor import latest_validation
from scoring.public import card, published_row, spec_bytes
from scoring.services import active_model
from scoring.simulate import simulate

blp = Blueprint("model", __name__, url_prefix="/api/v1/model",
                description="The active scoring model, public: anyone can recompute a score")
me = Blueprint("simulate", __name__, url_prefix="/api/v1/me",
               description="What if: the resident's projected score (never stored)")

# A model is activated rarely, and a cache that keeps the old card five minutes longer misleads
# nobody: every score names the model hash it was computed with.
MAX_AGE = 300


@blp.route("")
class PublicModel(MethodView):
    @blp.response(200, ModelCardSchema)
    def get(self) -> Any:
        """The active model's card: features, bins, points, texts, tiers, core and supplements."""
        with runtime().uow() as uow:
            session = uow.session
            row = published_row(session)
            found = card(row, active_model(session), latest_validation(session, row.id))
        return found, 200, {"Cache-Control": f"public, max-age={MAX_AGE}"}


@blp.route("/spec")
class PublicSpec(MethodView):
    @blp.arguments(SpecQuerySchema(), location="query")
    @blp.response(200, description="the spec's canonical JSON; its SHA-256 (`X-Model-Hash`, "
                                   "`ETag`) is the hash every score's inputs name")
    def get(self, args: dict[str, Any]) -> Response:
        """The exact JSON spec of the active model (or of a published one: `?model=`)."""
        with runtime().uow() as uow:
            row = published_row(uow.session, args["model"])
            body, digest = spec_bytes(row), row.spec_hash
        etag = f'"{digest}"'
        headers = {"ETag": etag, "X-Model-Hash": digest,
                   "Cache-Control": f"public, max-age={MAX_AGE}",
                   "Content-Digest": "sha-256=:"
                   + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"}
        if request.if_none_match.contains(digest):
            return Response(status=304, headers=headers)
        return Response(body, mimetype="application/json", headers=headers)


@me.route("/score/simulate")
class Simulate(MethodView):
    @me.arguments(SimulateInSchema())
    @me.arguments(SimulateQuerySchema(), location="query")
    @me.response(200, SimulationSchema)
    @me.doc(security=RESIDENT)
    def post(self, body: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """What my score would be after changes I can make: score, tier, unlocks, explanation."""
        with runtime().uow() as uow:
            return simulate(uow, auth.resident(uow), body["changes"],
                            now=runtime().clock.now(), lang=args["lang"])
