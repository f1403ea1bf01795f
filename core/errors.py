"""The base of every domain error; `app/errors.py` maps each to problem+json in one place."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on. `code` is stable; `status` is the HTTP status to use."""

    code = "domain_error"
    status = 400
    title = "Request refused"

    def __init__(self, detail: str | None = None, *, detail_zh: str | None = None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.detail_zh = detail_zh
        self.extra = extra


class NotFound(DomainError):
    code, status, title = "not_found", 404, "Not found"


class Forbidden(DomainError):
    code, status, title = "forbidden", 403, "Not allowed"


class Unauthorized(DomainError):
    code, status, title = "unauthorized", 401, "Authentication required"


class Conflict(DomainError):
    code, status, title = "conflict", 409, "Conflict"


class InvalidInput(DomainError):
    code, status, title = "invalid_input", 422, "Invalid input"


class IdempotencyConflict(DomainError):
    code, status, title = (
        "idempotency_conflict",
        409,
        "The same idempotency key was used with a different request body",
    )


class RateLimited(DomainError):
    code, status, title = "rate_limited", 429, "Too many requests"
