"""What resident sign-in and the profile take and give."""

from __future__ import annotations

import marshmallow as ma


class AssertionSchema(ma.Schema):
    assertion = ma.fields.String(required=True, validate=ma.validate.Length(1, 8192),
                                 metadata={"description": "JWT from the city identity provider"})


class SessionSchema(ma.Schema):
    """Renders `core.sessions.OpenedSession`."""

    token = ma.fields.String(metadata={"description": "Bearer token for the resident API"})
    expires_at = ma.fields.DateTime()
    resident_id = ma.fields.UUID()


class MeSchema(ma.Schema):
    """Renders `core.identity.Profile`."""

    id = ma.fields.UUID()
    name = ma.fields.String()
    id_number_masked = ma.fields.String()
    phone_masked = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
