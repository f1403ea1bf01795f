"""What the resident's score endpoints take and give."""

from __future__ import annotations

import marshmallow as ma


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


class DisputedSchema(ma.Schema):
    record_id = ma.fields.String()
    dispute_id = ma.fields.String()
    category = ma.fields.String()
    type = ma.fields.String()
    due_at = ma.fields.String(metadata={"description": "the dispute's deadline"})
    counts = ma.fields.Boolean(metadata={"description": "counts now: until the deadline; "
                                                        "not from an undecided deadline on"})
    text = ma.fields.String(metadata={"description": "异议标注: what the dispute means now"})


class NameSchema(ma.Schema):
    zh = ma.fields.String()
    en = ma.fields.String()


class UnusedSupplementSchema(ma.Schema):
    category = ma.fields.String(metadata={"description": "a supplement category code"})
    name = ma.fields.Nested(NameSchema)
    max_points = ma.fields.Integer(metadata={
        "description": "the most points adding this supplement could bring under the active "
                       "model, from the model's spec alone (never from unconsented data); "
                       "adding it can never lower the score"})


class FeatureSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    value = ma.fields.Float(allow_none=True)
    bin = ma.fields.Integer()
    points = ma.fields.Integer()
    max_points = ma.fields.Integer()


class TierSchema(ma.Schema):
    code = ma.fields.String()
    min = ma.fields.Integer(metadata={"description": "the lowest score in this tier"})
    name = ma.fields.String()


class ScaleSchema(ma.Schema):
    min = ma.fields.Integer(metadata={"description": "the lowest score the model can give"})
    max = ma.fields.Integer(metadata={"description": "the highest score the model can give"})
    base_points = ma.fields.Integer(metadata={
        "description": "points every resident starts from: base + dimensions = score"})
    tiers = ma.fields.List(ma.fields.Nested(TierSchema), metadata={
        "description": "lowest first"})


class ScoreSchema(ma.Schema):
    score = ma.fields.Integer()
    tier = ma.fields.String()
    tier_name = ma.fields.String()
    model = ma.fields.String()
    computed_at = ma.fields.DateTime()
    dimensions = ma.fields.List(ma.fields.Nested(DimensionSchema))
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema), metadata={"maxItems": 4})
    positives = ma.fields.List(ma.fields.Nested(PositiveSchema))
    unused_categories = ma.fields.List(ma.fields.Nested(UnusedSupplementSchema), metadata={
        "description": "supplements not added, most points first; the core (public credit, "
                       "judicial, tax, scenario performance) always counts"})
    disputed = ma.fields.List(ma.fields.Nested(DisputedSchema), metadata={
        "description": "records under dispute (异议标注); a feature reading one names no "
                       "positive"})
    features = ma.fields.List(ma.fields.Nested(FeatureSchema))
    inputs_hash = ma.fields.String()
    lang = ma.fields.String()
    scale = ma.fields.Nested(ScaleSchema, metadata={
        "description": "the active model's range, base points and tiers"})


class HistoryItemSchema(ma.Schema):
    score = ma.fields.Integer()
    tier = ma.fields.String()
    model = ma.fields.String(attribute="model_id")
    computed_at = ma.fields.DateTime()
    inputs_hash = ma.fields.String()
    trigger = ma.fields.String()


class HistorySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HistoryItemSchema))
