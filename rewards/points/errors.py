"""Refusals raised by the points ledger; `app/errors.py` maps them to problem+json."""

from __future__ import annotations

from core.errors import DomainError


class InvalidPoints(DomainError):
    code, status, title = "invalid_points", 422, "Points must be a positive whole number"


class InsufficientPoints(DomainError):
    """The resident's spendable points do not cover the request (their balance is not told)."""

    code, status, title = "insufficient_points", 409, "Not enough points"


class PointsOverLimit(DomainError):
    code, status, title = ("points_over_limit", 422,
                           "More points than the resident's entitlement allows per order")


class RedemptionNotFound(DomainError):
    code, status, title = "redemption_not_found", 404, "No such redemption"


class RefundExceedsRedemption(DomainError):
    code, status, title = ("refund_exceeds_redemption", 409,
                           "The refunds would exceed the points redeemed")


class InvalidPeriod(DomainError):
    code, status, title = "invalid_period", 422, "The statement period is invalid"


class LedgerError(RuntimeError):
    """A broken invariant in our own code (never a caller's mistake): the transaction aborts."""
