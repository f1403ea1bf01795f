"""Refusals raised by the points ledger; `app/errors.py` maps them to problem+json."""

from __future__ import annotations

from core.errors import DomainError


class InvalidPoints(DomainError):
    code, status, title = "invalid_points", 422, "Points must be a positive whole number"


class RedemptionNotFound(DomainError):
    code, status, title = "redemption_not_found", 404, "No such redemption"


class RefundExceedsRedemption(DomainError):
    code, status, title = ("refund_exceeds_redemption", 409,
                           "The refunds would exceed the points redeemed")


class InvalidPeriod(DomainError):
    code, status, title = "invalid_period", 422, "The statement period is invalid"


class LedgerError(RuntimeError):
    """A broken invariant in our own code (never a caller's mistake): the transaction aborts."""
