"""What goes in and out of the counter staff endpoints (partners, operators, staff sign-in)."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import UTCDateTime
from core import staff

USERNAME = ma.validate.Length(1, 40)
PASSWORD = ma.validate.Length(1, staff.PASSWORD_MAX)


class StaffInSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=USERNAME, metadata={
        "description": "2-40 lower-case letters, digits, . _ -; unique within the partner"})
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, staff.NAME_MAX),
                            metadata={"description": "the name the counter shows"})
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD, metadata={
        "description": f"{staff.PASSWORD_MIN}-{staff.PASSWORD_MAX} characters; stored hashed"})


class StaffSchema(ma.Schema):
    """A `core.staff.Member`: never the password or its hash."""

    staff_id = ma.fields.String()
    username = ma.fields.String()
    name = ma.fields.String()
    active = ma.fields.Boolean(metadata={"description": "false once removed"})
    created_at = UTCDateTime()
    removed_at = UTCDateTime()


class StaffListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StaffSchema))


class SignInSchema(ma.Schema):
    client_id = ma.fields.String(required=True, validate=ma.validate.Length(1, 40),
                                 metadata={"description": "the partner's client id"})
    username = ma.fields.String(required=True, validate=USERNAME)
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD)


class StaffPartnerSchema(ma.Schema):
    client_id = ma.fields.String()
    name = ma.fields.String()


class StaffSessionSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "the bearer token of the counter's calls "
                                                      "(shown once)"})
    expires_at = UTCDateTime()
    staff = ma.fields.Nested(StaffSchema)
    partner = ma.fields.Nested(StaffPartnerSchema)


class CurrentSessionSchema(ma.Schema):
    staff = ma.fields.Nested(StaffSchema)
    partner = ma.fields.Nested(StaffPartnerSchema)

