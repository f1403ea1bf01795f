"""Refusals of the webhook calls; `app/errors.py` maps them to problem+json."""

from __future__ import annotations

from core.errors import DomainError


class InvalidEndpoint(DomainError):
    code, status, title = ("invalid_endpoint", 422,
                           "The URL (http or https only) or the event types are not acceptable")


class TooManyEndpoints(DomainError):
    code, status, title = "too_many_endpoints", 409, "At most 10 webhook endpoints per partner"


class EndpointNotFound(DomainError):
    code, status, title = "endpoint_not_found", 404, "No such webhook endpoint of yours"


class DeliveryNotFound(DomainError):
    code, status, title = "delivery_not_found", 404, "No such webhook delivery"


class EndpointDisabled(DomainError):
    code, status, title = ("endpoint_disabled", 409,
                           "The webhook endpoint is disabled; switch it on first")
