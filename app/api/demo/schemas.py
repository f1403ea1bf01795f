"""What the development-only demo login takes and gives."""

from __future__ import annotations

import marshmallow as ma


class DemoResidentSchema(ma.Schema):
    """Renders `core.demo.DemoResident`."""

    resident_id = ma.fields.UUID()
    label = ma.fields.String()


class DemoLoginSchema(ma.Schema):
    resident_id = ma.fields.UUID(required=True)
