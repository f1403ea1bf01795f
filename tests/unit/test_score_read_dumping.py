"""The planned dump (`app.api.scores.dumping`) gives exactly what marshmallow's gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import marshmallow as ma
import pytest

from app.api.common import UTCDateTime
from app.api.scores.dumping import _plan, dumped
from app.api.scores.schemas import HistorySchema, ScoreSchema


class Leaf(ma.Schema):
    s = ma.fields.String()
    i = ma.fields.Integer()
    f = ma.fields.Float(allow_none=True)
    b = ma.fields.Boolean()
    t = ma.fields.DateTime()
    u = UTCDateTime()
    n = ma.fields.Integer(as_string=True)
    renamed = ma.fields.String(data_key="shown", attribute="hidden")
    items = ma.fields.String()  # a dict's own attribute name, when the key is missing


class Odd(Leaf):
    """Fields the plan leaves to marshmallow."""

    default = ma.fields.Integer(dump_default=7)
    method = ma.fields.Method("twice")

    def twice(self, obj):
        return 2 * (obj.get("i") or 0) if isinstance(obj, dict) else 0


class Tree(ma.Schema):
    leaf = ma.fields.Nested(Leaf)
    leaves = ma.fields.List(ma.fields.Nested(Leaf))
    many = ma.fields.Nested(Leaf, many=True)
    odd = ma.fields.Nested(Odd)
    numbers = ma.fields.List(ma.fields.Integer())
    names = ma.fields.List(ma.fields.String())


class Hooked(ma.Schema):
    x = ma.fields.Integer()

    @ma.post_dump
    def mark(self, data, **kwargs):
        return {**data, "hooked": True}


@dataclass
class Obj:
    s: str
    i: int


T = datetime(2026, 12, 6, 8, 30, 1, 250, tzinfo=timezone(timedelta(hours=8)))
LEAVES = [
    {"s": "文本", "i": 3, "f": 1.5, "b": True, "t": T, "u": T, "n": 4, "hidden": "h",
     "default": 1},
    {"s": 12, "i": 3.9, "f": 2, "b": "yes", "t": T.astimezone(UTC), "u": "2026-01-01T00:00:00Z",
     "n": 5.0, "extra": "not in the schema"},
    {"s": None, "i": None, "f": None, "b": None, "t": None, "u": None, "n": None},
    {"i": True, "f": float("nan"), "b": 0},
    {},
    type("Sub", (dict,), {})(s="a dict subclass", i=1),
    Obj("an object", 9),
    None,
]


@pytest.mark.parametrize("leaf", LEAVES, ids=range(len(LEAVES)))
def test_a_planned_dump_equals_marshmallows(leaf):
    tree = {"leaf": leaf, "leaves": [leaf, leaf], "many": [leaf], "odd": leaf,
            "numbers": [1, 2.7, True, None], "names": ["a", 3, None]}
    for schema in (Leaf(), Odd(), Tree()):
        obj = tree if isinstance(schema, Tree) else leaf
        if obj is None:
            continue
        planned, reference = dumped(schema)(obj), schema.dump(obj)
        assert repr(planned) == repr(reference)  # nan == nan, and the types alike


def test_missing_and_null_nested_values_dump_alike():
    for tree in ({}, {"leaf": None, "leaves": None, "many": None, "numbers": None},
                 {"leaves": [None, {}], "many": [None]}):
        assert dumped(Tree())(tree) == Tree().dump(tree)


def test_plain_fields_are_planned_and_the_rest_left_to_marshmallow():
    for planned in (Leaf(), Tree(), ScoreSchema(), HistorySchema()):
        assert _plan(planned) is not None
    for left in (Odd(), Hooked()):
        assert _plan(left) is None


def test_a_schema_with_hooks_or_many_is_dumped_by_marshmallow_itself():
    assert dumped(Hooked())({"x": 1}) == {"x": 1, "hooked": True}
    leaves = [{"i": 1, "items": "a"}, {"i": 2, "items": "b"}]
    assert dumped(Leaf(many=True))(leaves) == Leaf(many=True).dump(leaves)


def test_the_score_and_history_schemas_dump_alike():
    answer = {
        "score": 712, "tier": "good", "tier_name": "良好", "model": "m", "computed_at": T,
        "dimensions": [{"code": "d", "name": "名", "points": 10, "max_points": 20, "x": 1}],
        "reasons": [{"code": "r", "text": "t", "points_lost": 3, "tip": "p"}],
        "positives": [], "unused_categories": [{"category": "c", "name": {"zh": "中", "en": "e"},
                                                "max_points": 5}],
        "disputed": [{"record_id": "1", "dispute_id": "2", "category": "c", "type": "t",
                      "due_at": "2026-12-21T08:00:00Z", "counts": False, "text": "x"}],
        "features": [{"code": "f", "name": "n", "value": None, "bin": 1, "points": 0,
                      "max_points": 4}, {"code": "g", "value": 2, "bin": 2}],
        "inputs_hash": "h", "lang": "zh", "scale": {"min": 0, "max": 1000, "base_points": 500,
                                                    "tiers": [{"code": "a", "min": 0,
                                                               "name": "x"}]},
        "not_in_schema": 1}
    assert dumped(ScoreSchema())(answer) == ScoreSchema().dump(answer)
    history = {"items": [{"score": 1, "tier": "a", "model_id": "m", "computed_at": T,
                          "inputs_hash": "h", "trigger": "read"}]}
    assert dumped(HistorySchema())(history) == HistorySchema().dump(history)
