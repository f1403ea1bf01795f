"""Webhook endpoints' and deliveries' request and answer shapes."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import UTCDateTime
from events.endpoints import EVENT_TYPES

_TYPE = ma.validate.OneOf([*EVENT_TYPES, "*"])


class EndpointInSchema(ma.Schema):
    url = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000),
                           metadata={"description": "http:// or https://; redirects are not "
                                                    "followed"})
    event_types = ma.fields.List(ma.fields.String(validate=_TYPE), required=True,
                                 validate=ma.validate.Length(1, len(EVENT_TYPES) + 1),
                                 metadata={"description": "event types to receive, or ['*']"})
    description = ma.fields.String(load_default="", validate=ma.validate.Length(0, 200))


class EndpointPatchSchema(ma.Schema):
    url = ma.fields.String(validate=ma.validate.Length(1, 2000))
    event_types = ma.fields.List(ma.fields.String(validate=_TYPE),
                                 validate=ma.validate.Length(1, len(EVENT_TYPES) + 1))
    description = ma.fields.String(validate=ma.validate.Length(0, 200))
    active = ma.fields.Boolean(metadata={"description": "switch the endpoint on or off"})


class EndpointSchema(ma.Schema):
    endpoint_id = ma.fields.String()
    url = ma.fields.String()
    event_types = ma.fields.List(ma.fields.String())
    description = ma.fields.String()
    status = ma.fields.String(metadata={"description": "active | disabled"})
    created_at = UTCDateTime()
    failing_since = UTCDateTime(allow_none=True)
    disabled_at = UTCDateTime(allow_none=True)
    disabled_reason = ma.fields.String(allow_none=True,
                                       metadata={"description": "why it was disabled"})


class EndpointCreatedSchema(EndpointSchema):
    secret = ma.fields.String(metadata={"description": "whsec_…: shown this once"})


class EndpointsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EndpointSchema))


class SecretSchema(ma.Schema):
    secret = ma.fields.String(metadata={"description": "whsec_…: shown this once"})


class PublicKeySchema(ma.Schema):
    kid = ma.fields.String()
    public_key = ma.fields.String(metadata={"description": "whpk_<base64 Ed25519 key>"})
    jwk = ma.fields.Dict()


class PublicKeysSchema(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(PublicKeySchema))


class AttemptSchema(ma.Schema):
    at = UTCDateTime()
    status_code = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    duration_ms = ma.fields.Integer()
    manual = ma.fields.Boolean()


class DeliverySchema(ma.Schema):
    delivery_id = ma.fields.String()
    endpoint_id = ma.fields.String()
    webhook_id = ma.fields.String()
    type = ma.fields.String()
    occurred_at = UTCDateTime()
    status = ma.fields.String(metadata={"description": "pending | delivered | failed"})
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema))
    delivered_at = UTCDateTime(allow_none=True)


class DeliveriesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema))


class DeliveriesQuerySchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(["pending", "delivered", "failed"]))
    endpoint_id = ma.fields.UUID()
    client_id = ma.fields.String(validate=ma.validate.Length(1, 64),
                                 metadata={"description": "operators: one partner's"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))


class ResentSchema(ma.Schema):
    delivery_id = ma.fields.String()
    webhook_id = ma.fields.String()
    queued = ma.fields.Boolean()
