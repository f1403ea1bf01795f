"""What the development-only demo login takes and gives."""

from __future__ import annotations

import marshmallow as ma


class DemoResidentSchema(ma.Schema):
    """Renders `core.demo.DemoResident`: personas first, each with its one-line description."""

    resident_id = ma.fields.UUID()
    label = ma.fields.String()
    persona = ma.fields.String(allow_none=True,
                               metadata={"description": "the persona's key; null for others"})
    description = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                                 allow_none=True,
                                 metadata={"description": "who the persona is, {zh, en}"})


class DemoLoginSchema(ma.Schema):
    resident_id = ma.fields.UUID(required=True)
