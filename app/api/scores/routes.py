"""The resident's own score: `GET /api/v1/me/score` and its history."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.api.common import RESIDENT
from app.api.scores.schemas import HistorySchema, LangSchema, ScoreSchema
from app.runtime import runtime
from scoring.services import explained_score, history

blp = Blueprint("scores", __name__, url_prefix="/api/v1/me",
                description="The resident's score, why it is what it is, and how to improve it")


@blp.route("/score")
class MyScore(MethodView):
    @blp.arguments(LangSchema(), location="query")
    @blp.response(200, ScoreSchema)
    @blp.doc(security=RESIDENT)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My score with points per dimension, up to 4 reasons with tips, and unused categories."""
        with runtime().uow() as uow:
            return explained_score(uow, auth.resident(uow), now=runtime().clock.now(),
                                   lang=args["lang"])


@blp.route("/score/history")
class MyScoreHistory(MethodView):
    @blp.response(200, HistorySchema)
    @blp.doc(security=RESIDENT)
    def get(self) -> dict[str, Any]:
        """Every score computed for me, newest first."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": history(uow.session, resident.id)}
