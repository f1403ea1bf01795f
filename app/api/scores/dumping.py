"""A schema's dump, planned once: `dumped(ScoreSchema())(answer) == ScoreSchema().dump(answer)`.

The score read's answer is ~200 fields in ~40 nested objects; marshmallow looks each field up
and dispatches it through several calls per value (a fifth of the read's CPU). The plan walks
the schema's dump fields once and keeps, per field, where its value is found and the field's
own `_serialize`, so every value is still formatted by marshmallow's code — except a value
that formatting gives back unchanged (`_same`: a `str` in a `String`, an `int` in an
`Integer`, a `float` in a `Float`), which is taken as it is. Only what the plan reproduces
exactly is planned (plain fields, `Nested`, `List` of a dict; no hooks, defaults, dotted
attributes, no field or schema that overrides how values are found or serialised); anything
else is dumped by marshmallow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import missing

Dump = Callable[[Any], Any]
Format = Callable[[Any, str, Any], Any]
_FIELD = ma.fields.Field


class _Never:
    """The type of no value: a field whose every value is formatted."""


# `_serialize` of exactly these classes (not as_string) is str(v), int(v), float(v): a value
# of that type comes back as it is.
_SAME: dict[type, type] = {ma.fields.String: str, ma.fields.Integer: int,
                           ma.fields.Float: float}


def dumped(schema: ma.Schema) -> Dump:
    """A function giving `schema.dump(obj)` (for `schema.many` as it is)."""
    one = _plan(schema)
    if one is None:
        return schema.dump
    plan = one
    if schema.many:
        return lambda objs: None if objs is None else [plan(o) for o in objs]
    return plan


def _plan(schema: ma.Schema) -> Dump | None:
    hooks = schema._hooks
    if (hooks.get(ma.decorators.PRE_DUMP) or hooks.get(ma.decorators.POST_DUMP)
            or type(schema).get_attribute is not ma.Schema.get_attribute
            or type(schema)._serialize is not ma.Schema._serialize):
        return None
    steps: list[tuple[str, str, type, Format]] = []  # (key, where, unchanged type, format)
    for name, field in schema.dump_fields.items():
        where = name if field.attribute is None else field.attribute
        if (type(field).serialize is not _FIELD.serialize
                or type(field).get_value is not _FIELD.get_value
                or not field._CHECK_ATTRIBUTE or "." in where
                or field.dump_default is not missing):
            return None
        steps.append((name if field.data_key is None else field.data_key, where, _same(field),
                      _format(field)))

    def dump(obj: Any) -> dict[str, Any]:
        if type(obj) is not dict:
            return schema.dump(obj, many=False)  # an object or a dict subclass: marshmallow
        out = {}
        for key, where, same, fmt in steps:
            value = obj.get(where, missing)
            if value is missing:  # marshmallow then looks for an attribute
                value = getattr(obj, where, missing)
                if value is missing:
                    continue
            out[key] = value if type(value) is same else fmt(value, where, obj)
        return out

    return dump


def _same(field: ma.fields.Field) -> type:
    """The type of the values `field` dumps unchanged (`_Never`: none)."""
    kind = type(field)
    if kind in _SAME and not getattr(field, "as_string", False):
        return _SAME[kind]
    return _Never


def _format(field: ma.fields.Field) -> Format:
    """`field._serialize`, with a nested schema's dump planned too."""
    kind = type(field)
    if isinstance(field, ma.fields.Nested) and kind._serialize is ma.fields.Nested._serialize:
        nested = field.schema
        inner = _plan(nested)
        if inner is None:
            return field._serialize
        plan = inner
        if nested.many or field.many:
            return lambda v, a, o: None if v is None else [plan(x) for x in v]
        return lambda v, a, o: None if v is None else plan(v)
    if isinstance(field, ma.fields.List) and kind._serialize is ma.fields.List._serialize:
        each, same = _format(field.inner), _same(field.inner)
        return lambda v, a, o: None if v is None else [
            x if type(x) is same else each(x, a, o) for x in v]
    return field._serialize
