"""Published keys and health."""

from __future__ import annotations

import marshmallow as ma


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
