"""What the public model endpoints give (the model card) and what the simulator takes and
gives (`POST /api/v1/me/score/simulate`)."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import Bilingual, UTCDateTime
from app.api.scores.schemas import ScoreSchema
from scoring.simulate import KINDS, MAX_CHANGES, MAX_HOURS, MAX_MONTHS


class SpecQuerySchema(ma.Schema):
    model = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 64), metadata={
        "description": "a published model's id (one a stored score names); default: the "
                       "active model"})


class BinSchema(ma.Schema):
    from_ = ma.fields.Float(data_key="from", attribute="from", allow_none=True,
                            metadata={"description": "inclusive lower edge; null: open"})
    to = ma.fields.Float(allow_none=True, metadata={"description": "exclusive upper edge"})
    points = ma.fields.Integer()


class CardFeatureSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    category = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ["core", "supplement"]})
    types = ma.fields.List(ma.fields.String())
    window_days = ma.fields.Integer()
    aggregate = ma.fields.String()
    edges = ma.fields.List(ma.fields.Float())
    points = ma.fields.List(ma.fields.Integer())
    bins = ma.fields.List(ma.fields.Nested(BinSchema))
    unknown_points = ma.fields.Integer(metadata={
        "description": "what the feature earns while its (supplement) category is not added"})
    max_points = ma.fields.Integer()
    dimension = ma.fields.String()
    monotonic = ma.fields.String()
    reason = ma.fields.Nested(Bilingual)
    tip = ma.fields.Nested(Bilingual)
    positive = ma.fields.Nested(Bilingual)


class CardCategorySchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    role = ma.fields.String(metadata={"enum": ["core", "supplement"]})
    legal_basis = ma.fields.String()
    why = ma.fields.String(metadata={"description": "why the category is core or a supplement"})
    sensitivity = ma.fields.String()
    features = ma.fields.List(ma.fields.String())
    max_points = ma.fields.Integer(metadata={
        "description": "supplements only: the most adding the category could add"})


class CardTierSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    min = ma.fields.Integer()
    max = ma.fields.Integer(allow_none=True)


class CardDimensionSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    max_points = ma.fields.Integer()


class RangeSchema(ma.Schema):
    min = ma.fields.Integer()
    max = ma.fields.Integer()


class ModelCardSchema(ma.Schema):
    id = ma.fields.String()
    version = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    status = ma.fields.String()
    hash = ma.fields.String(metadata={"description": "SHA-256 of the spec's canonical JSON: "
                                                     "every score's inputs name it"})
    spec_url = ma.fields.String()
    activated_at = UTCDateTime()
    validated_at = UTCDateTime()
    base_points = ma.fields.Integer()
    score_range = ma.fields.Nested(RangeSchema)
    tiers = ma.fields.List(ma.fields.Nested(CardTierSchema))
    dimensions = ma.fields.List(ma.fields.Nested(CardDimensionSchema))
    categories = ma.fields.List(ma.fields.Nested(CardCategorySchema))
    features = ma.fields.List(ma.fields.Nested(CardFeatureSchema))
    validation = ma.fields.Dict(allow_none=True, metadata={
        "description": "the latest validation report's summary (AUC, KS, Gini, bad rate, "
                       "population, departures by group); null before the first report"})


class ChangeSchema(ma.Schema):
    """One hypothetical change; which fields it needs depends on its kind."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS), metadata={
        "description": "repair_record {record_id} · pay_bill {bill_id} · volunteer_hours "
                       "{hours} · keep_paying {months} · add_supplement {category}"})
    record_id = ma.fields.UUID()
    bill_id = ma.fields.UUID()
    hours = ma.fields.Float(metadata={"description": f"0 < hours ≤ {MAX_HOURS}"})
    months = ma.fields.Integer(strict=True, metadata={"description": f"1–{MAX_MONTHS}"})
    category = ma.fields.String(validate=ma.validate.Length(1, 32))


class SimulateInSchema(ma.Schema):
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True,
                             validate=ma.validate.Length(1, MAX_CHANGES))


class SimulateQuerySchema(ma.Schema):
    lang = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(["zh", "en"]))


class UnlockSchema(ma.Schema):
    scenario = ma.fields.String()
    name = ma.fields.Nested(Bilingual)


class AddedSupplementSchema(ma.Schema):
    category = ma.fields.String()
    name = ma.fields.Nested(Bilingual)
    max_points = ma.fields.Integer(metadata={"description": "the most adding it could add "
                                                            "(counted in the projected score)"})


class SimulatedExplanationSchema(ScoreSchema):
    base_points = ma.fields.Integer()
    added_supplements = ma.fields.List(ma.fields.Nested(AddedSupplementSchema), metadata={
        "description": "supplements added by add_supplement, at their most; with base_points "
                       "and the dimensions they add up to the score"})


class StandingSchema(ma.Schema):
    score = ma.fields.Integer()
    tier = ma.fields.String()


class NoteSchema(ma.Schema):
    index = ma.fields.Integer(metadata={"description": "the change this note is about"})
    kind = ma.fields.String()
    eligible_now = ma.fields.Boolean(metadata={"description": "a repair may be applied for now"})
    earliest_at = UTCDateTime()
    reasons = ma.fields.List(ma.fields.Dict())


class SimulationSchema(ma.Schema):
    score = ma.fields.Integer(metadata={"description": "the projected score"})
    tier = ma.fields.String()
    tier_name = ma.fields.String()
    delta = ma.fields.Integer(metadata={"description": "projected minus current score"})
    current = ma.fields.Nested(StandingSchema)
    as_of = UTCDateTime(metadata={"description": "the instant projected to (later than now "
                                                 "with keep_paying)"})
    unlocks = ma.fields.List(ma.fields.Nested(UnlockSchema), metadata={
        "description": "scenarios the resident is not eligible for now and would be"})
    notes = ma.fields.List(ma.fields.Nested(NoteSchema))
    explanation = ma.fields.Nested(SimulatedExplanationSchema)
