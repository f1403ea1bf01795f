"""Refusals of 先诊后付; `app/errors.py` maps them to problem+json.

A hospital never learns *why* a resident cannot use credit care (DESIGN §2.1): a declined
authorization says only that; the resident sees the reason in their own entitlements.
"""

from __future__ import annotations

from core.errors import DomainError


class InvalidAmount(DomainError):
    code, status, title = "invalid_amount", 422, "Amounts are positive integers of fen"


class CreditDeclined(DomainError):
    code, status, title = ("credit_declined", 403,
                           "Credit care cannot be used for this resident now")


class InsufficientCredit(DomainError):
    code, status, title = ("insufficient_credit", 422,
                           "The amount exceeds the credit available to this resident")


class AuthorizationNotFound(DomainError):
    code, status, title = "authorization_not_found", 404, "No such authorization"


class AuthorizationClosed(DomainError):
    """Captured, voided or expired: the hold can no longer be captured."""

    code, status, title = ("authorization_closed", 409,
                           "The authorization is no longer open")


class AmountExceedsHold(DomainError):
    code, status, title = ("amount_exceeds_hold", 422,
                           "The bill is larger than the amount held")


class BillNotFound(DomainError):
    code, status, title = "bill_not_found", 404, "No such bill"


class PaymentExceedsDebt(DomainError):
    code, status, title = ("payment_exceeds_debt", 422,
                           "The payment is larger than what is owed on the bill")
