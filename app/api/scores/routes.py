"""The resident's own score: `GET /api/v1/me/score` and its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify
from flask.views import MethodView

from app import auth
from app.api.common import RESIDENT, Blueprint
from app.api.scores.dumping import dumped
from app.api.scores.schemas import HistorySchema, LangSchema, ScoreSchema
from app.runtime import runtime
from scoring.read import current_read
from scoring.services import explained_score, history, stored_model
from scoring.spec import Model

blp = Blueprint("scores", __name__, url_prefix="/api/v1/me",
                description="The resident's score, why it is what it is, and how to improve it")


# The answer is dumped as `ScoreSchema` dumps it (documented by @blp.response), planned once.
_ANSWER = dumped(ScoreSchema())


@blp.route("/score")
class MyScore(MethodView):
    @blp.arguments(LangSchema(), location="query")
    @blp.response(200, ScoreSchema)
    @blp.doc(security=RESIDENT)
    def get(self, args: dict[str, Any]) -> Response:
        """My score with points per dimension, up to 4 reasons with tips, unused categories, and
        the model's scale (range, base points, tiers) so the parts can be seen to add up."""
        return jsonify(_ANSWER(_score(args["lang"], runtime().clock.now())))


def _score(lang: str, now: datetime) -> dict[str, Any]:
    """The answer with the model's scale: in one round trip when the stored score is current
    (`scoring.read`), else by the general path, which refuses, recomputes or audits."""
    with runtime().uow() as uow:
        found = current_read(uow, auth.bearer(), now=now, lang=lang)
    if found is not None:
        auth.acting_resident(found.resident_id)
        return {**found.answer, "scale": _scale(found.model, lang)}
    with runtime().uow() as uow:
        answer = explained_score(uow, auth.resident(uow), now=now, lang=lang)
        # the score is always the active model's (`fresh_score`), read in this session
        model = stored_model(uow.session, answer["model"])
        return answer if model is None else {**answer, "scale": _scale(model, lang)}


def _scale(model: Model, lang: str) -> dict[str, Any]:
    """The model's range, base points and tiers (lowest first) in `lang`."""
    low, high = model.score_range
    return {"min": low, "max": high, "base_points": model.base_points,
            "tiers": [{"code": t.code, "min": t.min, "name": t.name.get(lang, t.name["zh"])}
                      for t in reversed(model.tiers)]}


@blp.route("/score/history")
class MyScoreHistory(MethodView):
    @blp.response(200, HistorySchema)
    @blp.doc(security=RESIDENT)
    def get(self) -> dict[str, Any]:
        """Every score computed for me, newest first."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": history(uow.session, resident.id)}
