"""The resident's own score: `GET /api/v1/me/score` and its history."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.runtime import runtime
from scoring.services import current_score, history, render

blp = Blueprint("scores", __name__, url_prefix="/api/v1/me",
                description="The resident's score, why it is what it is, and how to improve it")


class LangSchema(ma.Schema):
    lang = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(["zh", "en"]))


class DimensionSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    points = ma.fields.Integer()
    max_points = ma.fields.Integer()


class ReasonSchema(ma.Schema):
    code = ma.fields.String()
    text = ma.fields.String()
    points_lost = ma.fields.Integer()
    tip = ma.fields.String()


class PositiveSchema(ma.Schema):
    code = ma.fields.String()
    text = ma.fields.String()
    points = ma.fields.Integer()


class CategorySchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class FeatureSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    value = ma.fields.Float(allow_none=True)
    bin = ma.fields.Integer()
    points = ma.fields.Integer()
    max_points = ma.fields.Integer()


class ScoreSchema(ma.Schema):
    score = ma.fields.Integer()
    tier = ma.fields.String()
    tier_name = ma.fields.String()
    model = ma.fields.String()
    computed_at = ma.fields.DateTime()
    dimensions = ma.fields.List(ma.fields.Nested(DimensionSchema))
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema), metadata={"maxItems": 4})
    positives = ma.fields.List(ma.fields.Nested(PositiveSchema))
    unused_categories = ma.fields.List(ma.fields.Nested(CategorySchema))
    features = ma.fields.List(ma.fields.Nested(FeatureSchema))
    inputs_hash = ma.fields.String()
    lang = ma.fields.String()


class HistoryItemSchema(ma.Schema):
    score = ma.fields.Integer()
    tier = ma.fields.String()
    model = ma.fields.String(attribute="model_id")
    computed_at = ma.fields.DateTime()
    inputs_hash = ma.fields.String()
    trigger = ma.fields.String()


class HistorySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HistoryItemSchema))


@blp.route("/score")
class MyScore(MethodView):
    @blp.arguments(LangSchema(), location="query")
    @blp.response(200, ScoreSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self, args):
        """My score with points per dimension, up to 4 reasons with tips, and unused categories."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            view = current_score(uow, resident, now=runtime().clock.now())
            body = dict(render(uow.session, view, args["lang"]))
        body["computed_at"] = view.computed_at
        return body


@blp.route("/score/history")
class MyScoreHistory(MethodView):
    @blp.response(200, HistorySchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self):
        """Every score computed for me, newest first."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": history(uow.session, resident.id)}
